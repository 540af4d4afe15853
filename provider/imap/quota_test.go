package imap

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/pecsdk/pec/provider/mailbox"
)

// TestGetQuotaRoot reads the quota with go-imap's client: QUOTA is
// announced once logged in, and GETQUOTAROOT and GETQUOTA tell in KiB
// what the store counts, Archive outside the quota root.
func TestGetQuotaRoot(t *testing.T) {
	ctx := context.Background()
	const limit = 100_000
	for name, store := range imapStores(t, limit) {
		t.Run(name, func(t *testing.T) {
			f := start(t, store, nil)
			f.deliver(t, mailbox.Inbox, strings.Repeat("a", 2000), strings.Repeat("b", 3001))
			if _, err := f.box(t).(mailbox.Archiver).DeliverArchived(ctx, mailbox.Sent, strings.NewReader("Subject: s\r\n\r\nx"), 0, time.Time{}); err != nil {
				t.Fatal(err)
			}
			c := f.client(t, nil)
			if c.Caps().Has(goimap.CapQuota) {
				t.Error("QUOTA announced before login")
			}
			if err := c.Login(user, pass).Wait(); err != nil {
				t.Fatal(err)
			}
			for _, cp := range []goimap.Cap{goimap.CapQuota, "QUOTA=RES-STORAGE"} {
				if !c.Caps().Has(cp) {
					t.Errorf("%s not in LOGIN's capabilities %v", cp, c.Caps())
				}
			}
			caps, err := c.Capability().Wait()
			if err != nil || !caps.Has(goimap.CapQuota) {
				t.Errorf("CAPABILITY = %v, %v", caps, err)
			}
			u, err := f.box(t).(mailbox.Metered).Usage(ctx)
			if err != nil || u.Bytes != 2000+3001+15 {
				t.Fatalf("usage %+v, %v", u, err)
			}
			for _, folder := range []string{"INBOX", "Sent"} {
				qs, err := c.GetQuotaRoot(folder).Wait()
				if err != nil || len(qs) != 1 || qs[0].Root != "" {
					t.Fatalf("GETQUOTAROOT %s = %+v, %v", folder, qs, err)
				}
				r := qs[0].Resources[goimap.QuotaResourceStorage]
				if r.Usage != 5 || r.Limit != 98 || len(qs[0].Resources) != 1 {
					t.Errorf("GETQUOTAROOT %s: %+v, want STORAGE 5 of 98 KiB", folder, qs[0])
				}
			}
			if qs, err := c.GetQuotaRoot(mailbox.Archive).Wait(); err != nil || len(qs) != 0 {
				t.Errorf("GETQUOTAROOT Archive = %+v, %v; want no root", qs, err)
			}
			q, err := c.GetQuota("").Wait()
			if err != nil || q.Resources[goimap.QuotaResourceStorage] != (goimapQuota{5, 98}) {
				t.Errorf("GETQUOTA \"\" = %+v, %v", q, err)
			}
			wantCode(t, "GETQUOTAROOT of no folder", errOf(c.GetQuotaRoot("Nessuna").Wait()), goimap.ResponseCodeNonExistent)
			wantCode(t, "GETQUOTA of another root", errOf(c.GetQuota("user.mario").Wait()), goimap.ResponseCodeNonExistent)
			wantCode(t, "SETQUOTA", c.SetQuota("", map[goimap.QuotaResourceType]int64{goimap.QuotaResourceStorage: 1 << 20}).Wait(), goimap.ResponseCodeNoPerm)
			// Still in step with imapserver.
			if _, err := c.Select("INBOX", nil).Wait(); err != nil {
				t.Fatal(err)
			}
			if qs, err := c.GetQuotaRoot("INBOX").Wait(); err != nil || len(qs) != 1 {
				t.Errorf("GETQUOTAROOT when selected = %+v, %v", qs, err)
			}
			if err := c.Noop().Wait(); err != nil {
				t.Error(err)
			}
		})
	}
}

type goimapQuota = struct{ Usage, Limit int64 }

func errOf[T any](_ T, err error) error { return err }

// TestQuotaNoLimit: a mailbox without a limit has no quota root.
func TestQuotaNoLimit(t *testing.T) {
	f := start(t, nil, nil)
	f.deliver(t, mailbox.Inbox, "Subject: x\r\n\r\nx")
	c := f.login(t, nil)
	if qs, err := c.GetQuotaRoot("INBOX").Wait(); err != nil || len(qs) != 0 {
		t.Errorf("GETQUOTAROOT = %+v, %v; want no root", qs, err)
	}
	wantCode(t, "GETQUOTA", errOf(c.GetQuota("").Wait()), goimap.ResponseCodeNonExistent)
}

// put sends b as it is.
func (r *raw) put(b string) {
	r.t.Helper()
	r.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := r.c.Write([]byte(b)); err != nil {
		r.t.Fatal(err)
	}
}

// upTo reads up to the response tagged tag, and returns every line read,
// CRLF removed.
func (r *raw) upTo(tag string) []string {
	r.t.Helper()
	r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var lines []string
	for {
		l, err := r.r.ReadString('\n')
		if err != nil {
			r.t.Fatalf("reading up to %s: %v after %q", tag, err, lines)
		}
		lines = append(lines, strings.TrimRight(l, "\r\n"))
		if strings.HasPrefix(l, tag+" ") {
			return lines
		}
	}
}

// TestQuotaWire sends the commands as clients may: pipelined, with
// quoted strings and literals, and where they must not be taken.
func TestQuotaWire(t *testing.T) {
	store := mailbox.NewMemory()
	store.SetQuota(user, 10_000)
	f := start(t, store, nil)
	f.deliver(t, mailbox.Inbox, strings.Repeat("a", 1500))
	if err := f.box(t).CreateFolder(context.Background(), "Pratiche 2026"); err != nil {
		t.Fatal(err)
	}
	const quota = `* QUOTA "" (STORAGE 2 10)`
	s := f.raw(t)
	// Before login, an unknown command ends the session (imapserver).
	s.put("q GETQUOTAROOT INBOX\r\n")
	if lines := s.upTo("*"); !strings.HasPrefix(lines[len(lines)-1], "* BYE") {
		t.Errorf("GETQUOTAROOT before login: %q", lines)
	}
	// Pipelined after the login that allows it, with LOGIN and with
	// AUTHENTICATE: taken once imapserver has logged in.
	for _, login := range []string{
		fmt.Sprintf("l LOGIN %q %q\r\n", user, pass),
		"l AUTHENTICATE PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)) + "\r\n",
	} {
		s = f.raw(t)
		s.put(login + "q GETQUOTAROOT INBOX\r\n")
		got := strings.Join(s.upTo("q"), "\n")
		if !strings.Contains(got, " QUOTA QUOTA=RES-STORAGE] ") || !strings.Contains(got, "q OK GETQUOTAROOT completed") {
			t.Errorf("pipelined after %q:\n%s", login[:16], got)
		}
	}
	s = f.raw(t)
	s.put(fmt.Sprintf("l LOGIN %q %q\r\n", user, pass))
	if l := s.upTo("l"); !strings.Contains(l[len(l)-1], " QUOTA QUOTA=RES-STORAGE]") {
		t.Errorf("LOGIN: %q", l)
	}
	for _, tc := range []struct {
		name, send, last string
		want             []string // lines expected among those read up to last's response
		not              []string // lines that must not appear
	}{
		{"plain", "q GETQUOTAROOT INBOX\r\n", "q",
			[]string{`* QUOTAROOT INBOX ""`, quota, "q OK GETQUOTAROOT completed"}, nil},
		{"INBOX in any case", "q GETQUOTAROOT iNbOx\r\n", "q",
			[]string{`* QUOTAROOT INBOX ""`, quota, "q OK GETQUOTAROOT completed"}, nil},
		{"lower case, quoted", "q getquotaroot \"INBOX\"\r\nr getquota \"\"\r\n", "r",
			[]string{`* QUOTAROOT INBOX ""`, "q OK GETQUOTAROOT completed", quota, "r OK GETQUOTA completed"}, nil},
		{"pipelined between imapserver's", "a NOOP\r\nq GETQUOTA \"\"\r\nb SELECT INBOX\r\nr GETQUOTAROOT INBOX\r\nc NOOP\r\n", "c",
			[]string{"a OK NOOP completed", "q OK GETQUOTA completed", "b OK [READ-WRITE] SELECT completed", "r OK GETQUOTAROOT completed", "c OK NOOP completed"}, nil},
		{"quoted name", "q GETQUOTAROOT \"Pratiche 2026\"\r\nr GETQUOTAROOT \"Pratiche &AOAA6A-\"\r\n", "r",
			[]string{`* QUOTAROOT "Pratiche 2026" ""`, "q OK GETQUOTAROOT completed", "r NO [NONEXISTENT]"}, nil},
		{"non-synchronising literal", "q GETQUOTAROOT {5+}\r\nINBOX\r\n", "q",
			[]string{`* QUOTAROOT INBOX ""`, "q OK GETQUOTAROOT completed"}, nil},
		{"synchronising literal", "q GETQUOTAROOT {5}\r\n", "+",
			[]string{"+ Ready for literal data"}, nil},
		{"literal sent", "INBOX\r\n", "q", []string{"q OK GETQUOTAROOT completed"}, nil},
		{"syntax", "q GETQUOTAROOT INBOX Sent\r\nr GETQUOTAROOT \"INBOX\r\ns GETQUOTA\r\n", "s",
			[]string{"q BAD [CLIENTBUG] Syntax error: GETQUOTAROOT takes one argument", "r BAD [CLIENTBUG] Syntax error: GETQUOTAROOT takes one argument", "s BAD [CLIENTBUG] Syntax error: GETQUOTA takes one argument"}, nil},
		{"inside a literal of APPEND", "a APPEND INBOX {22+}\r\nq GETQUOTAROOT INBOX\r\n\r\n", "a",
			[]string{"a OK [APPENDUID"}, []string{"q OK"}},
		{"inside a synchronising literal of APPEND", "a APPEND INBOX {22}\r\n", "+", nil, nil},
		{"the literal", "q GETQUOTAROOT INBOX\r\n\r\n", "a", []string{"a OK [APPENDUID"}, []string{"q OK"}},
		{"after IDLE", "i IDLE\r\nDONE\r\nq GETQUOTAROOT INBOX\r\n", "q", []string{"i OK IDLE completed", quota, "q OK GETQUOTAROOT completed"}, nil},
		// imapserver reads the next line as the end of LIST's.
		{"a literal refused by imapserver", "a LIST \"\" {5000}\r\nq GETQUOTAROOT INBOX\r\n", "a", []string{"a BAD"}, []string{"q OK"}},
		{"after it", "r GETQUOTAROOT INBOX\r\n", "r", []string{"r OK"}, nil},
		{"SETQUOTA", "q SETQUOTA \"\" (STORAGE 100)\r\n", "q", []string{"q NO [NOPERM]"}, nil},
		{"CAPABILITY", "c CAPABILITY\r\n", "c", []string{"QUOTA QUOTA=RES-STORAGE"}, nil},
		// The responses to a FETCH, gathered, are written before the
		// next command's.
		{"after FETCH", "f UID FETCH 1:* (UID BODY.PEEK[])\r\nq GETQUOTAROOT INBOX\r\ng FETCH 1 (FLAGS)\r\nr GETQUOTA \"\"\r\n", "r",
			[]string{"* 1 FETCH (UID 1 BODY[] {1500}", "* 3 FETCH (UID 3 BODY[] {22}", "f OK", `* QUOTAROOT INBOX ""`, "q OK", "* 1 FETCH (UID 1 FLAGS", "g OK", "r OK"}, nil},
	} {
		s.put(tc.send)
		lines := s.upTo(tc.last)
		got := strings.Join(lines, "\n")
		rest := got
		for _, w := range tc.want { // in this order
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%s: %q not in, or out of order in\n%s", tc.name, w, got)
				continue
			}
			rest = rest[i+len(w):]
		}
		for _, w := range tc.not {
			if strings.Contains(got, w) {
				t.Errorf("%s: %q in\n%s", tc.name, w, got)
			}
		}
	}
}

// TestQuotaCurl asks curl for GETQUOTAROOT over IMAPS.
func TestQuotaCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl not installed")
		}
		t.Skip("curl not installed")
	}
	store := mailbox.NewMemory()
	store.SetQuota(user, 1<<20)
	f := start(t, store, nil)
	f.deliver(t, mailbox.Inbox, strings.Repeat("z", 4096))
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, f.cert.CAPEM(), 0o600)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, curl, "-sS", "--cacert", ca, "--user", user+":"+pass,
		"--request", "GETQUOTAROOT INBOX", "imaps://"+f.imaps+"/").CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	want := "* QUOTAROOT INBOX \"\"\r\n* QUOTA \"\" (STORAGE 4 1024)\r\n"
	if string(out) != want {
		t.Errorf("curl printed %q, want %q", out, want)
	}
}

// TestWireLargeMessages: a message larger than every buffer of the QUOTA
// front goes in by APPEND and comes back by FETCH byte for byte, and the
// quota counts it.
func TestWireLargeMessages(t *testing.T) {
	store := mailbox.NewMemory()
	store.SetQuota(user, 10<<20)
	f := start(t, store, nil)
	c := f.login(t, nil)
	msg := "Subject: grande\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 300<<10/18)
	app := c.Append("INBOX", int64(len(msg)), nil)
	app.Write([]byte(msg))
	app.Close()
	if _, err := app.Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(goimap.SeqSetNum(1), &goimap.FetchOptions{BodySection: []*goimap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil || len(msgs) != 1 || len(msgs[0].BodySection) != 1 {
		t.Fatalf("FETCH = %+v, %v", msgs, err)
	}
	if got := string(msgs[0].BodySection[0].Bytes); got != msg {
		t.Errorf("FETCH gave %d bytes, want the %d appended", len(got), len(msg))
	}
	q, err := c.GetQuota("").Wait()
	if want := kib(int64(len(msg))); err != nil || q.Resources[goimap.QuotaResourceStorage].Usage != want {
		t.Errorf("GETQUOTA = %+v, %v; want %d KiB used", q, err, want)
	}
}
