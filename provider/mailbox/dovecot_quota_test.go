package mailbox

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/pecsdk/pec/internal/dovecottest"
)

// TestDovecotQuota points a real Dovecot, with its Maildir++ quota and
// Archive ignored, at a mailbox this package filled: both count the same
// usage from maildirsize, and what Dovecot appends is counted here.
func TestDovecotQuota(t *testing.T) {
	const user, pass = "mario@pec.example.it", "segreta"
	const limit = 100000
	dc := dovecottest.Start(t, &dovecottest.Options{Users: map[string]string{user: pass}})
	enableQuota(t, dc, limit)
	ctx := context.Background()
	root := filepath.Dir(dc.Maildir(user))
	s, err := OpenMaildir(root, &MaildirOptions{Quota: limit})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Mailbox(ctx, user)
	kb := func(n int) *strings.Reader {
		return strings.NewReader("Subject: q\r\n\r\n" + strings.Repeat("x", n*1024-14))
	}
	if _, err := b.(Archiver).DeliverArchived(ctx, Inbox, kb(2), 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Deliver(ctx, Inbox, kb(3), 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.(Archiver).DeliverArchived(ctx, Sent, kb(1), Seen, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Expunge(ctx, Inbox, []uint32{2}); err != nil {
		t.Fatal(err)
	}
	u, err := b.(Metered).Usage(ctx)
	if err != nil || u.Bytes != 3*1024 || u.Messages != 2 {
		t.Fatalf("our usage %+v, %v", u, err)
	}
	chownTree(t, s.Dir(user), dc)

	c := dialQuota(t, dc, user, pass)
	defer c.Close()
	storage := func() (used, lim int64) {
		t.Helper()
		qs, err := c.GetQuotaRoot("INBOX").Wait()
		if err != nil || len(qs) != 1 {
			t.Fatalf("GETQUOTAROOT = %+v, %v", qs, err)
		}
		r, ok := qs[0].Resources[goimap.QuotaResourceStorage]
		if !ok {
			t.Fatalf("no STORAGE in %+v", qs[0])
		}
		return r.Usage, r.Limit
	}
	// RFC 9208 counts STORAGE in KiB; Dovecot rounds up.
	kib := func(n int64) int64 { return (n + 1023) / 1024 }
	if used, lim := storage(); used != 3 || lim != kib(limit) {
		t.Errorf("Dovecot: STORAGE %d of %d KiB; ours 3 of %d", used, lim, kib(limit))
	}
	// Dovecot stores a message and adds its line to maildirsize: this
	// package counts it.
	data := "Subject: d\r\n\r\n" + strings.Repeat("y", 4*1024-14)
	app := c.Append("INBOX", int64(len(data)), nil)
	app.Write([]byte(data))
	app.Close()
	if _, err := app.Wait(); err != nil {
		t.Fatal(err)
	}
	used, _ := storage()
	c.Logout().Wait()
	// Dovecot stores lines with LF: the file is smaller than what was sent.
	d, err := b.List(ctx, Inbox)
	if err != nil || len(d.Messages) != 2 {
		t.Fatalf("INBOX after Dovecot's APPEND: %+v, %v", d, err)
	}
	want := 3*1024 + d.Messages[1].Size
	if u, err := b.(Metered).Usage(ctx); err != nil || u.Bytes != want || u.Messages != 3 || kib(u.Bytes) != used {
		t.Errorf("our usage after Dovecot's APPEND: %+v, %v; want %d bytes, Dovecot says %d KiB", u, err, want, used)
	}
	// A fresh process recomputes from the files and finds the same.
	if u, err := mustQuotaBox(t, root, user, limit).Usage(ctx); err != nil || u.Bytes != want {
		t.Errorf("recomputed usage: %+v, %v", u, err)
	}
}

func mustQuotaBox(t *testing.T, root, user string, limit int64) Metered {
	s, err := OpenMaildir(root, &MaildirOptions{Quota: limit})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Mailbox(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return b.(Metered)
}

// enableQuota adds Dovecot's Maildir++ quota to the test server's
// configuration, Archive ignored, and reloads it.
func enableQuota(t *testing.T, dc *dovecottest.Server, limit int) {
	conf := filepath.Join(dc.Dir, "dovecot.conf")
	data, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	const block = "protocol imap {\n"
	if !strings.Contains(string(data), block) {
		t.Skip("the test Dovecot's configuration has no protocol imap block")
	}
	quota := "mail_plugins = $mail_plugins quota\nplugin {\n  quota = maildir:User quota\n  quota_rule = *:storage=" +
		strconv.Itoa(limit) + "B\n  quota_rule2 = Archive:ignore\n}\n" + block + "  mail_plugins = $mail_plugins imap_quota\n"
	if err := os.WriteFile(conf, []byte(strings.Replace(string(data), block, quota, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	// The master writes its pid file once it is up, maybe after listening.
	var pid []byte
	for try := 0; ; try++ {
		pid, err = os.ReadFile(filepath.Join(dc.Dir, "run", "master.pid"))
		if err == nil || try == 100 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(pid)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(n, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
}

// dialQuota logs in to Dovecot once its reloaded configuration offers
// QUOTA.
func dialQuota(t *testing.T, dc *dovecottest.Server, user, pass string) *imapclient.Client {
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := imapclient.DialTLS(dc.IMAPS, &imapclient.Options{TLSConfig: dc.TLS.ClientConfig()})
		if err == nil {
			if err = c.Login(user, pass).Wait(); err == nil {
				if caps, err := c.Capability().Wait(); err == nil && caps.Has(goimap.CapQuota) {
					return c
				}
			}
			c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("Dovecot offers no QUOTA after reload: %v\n%s", err, dc.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
