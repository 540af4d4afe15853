package client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/internal/dovecottest"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/sample"
)

// TestWrongPassword: every protocol reports ErrAuth, and a refused
// submission registers nothing.
func TestWrongPassword(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, _ := client.OpenTracker("", nil)
	for _, auth := range []client.AuthMethod{client.AuthPlain, client.AuthLogin} {
		o := w.submitOpts(client.SecurityTLS, auth, tr)
		o.Password = "wrong"
		_, err := client.Send(ctx, draft("wrong-pass."+string(auth)+"@client.example", ""), o)
		if !errors.Is(err, client.ErrAuth) {
			t.Errorf("smtp %s: %v, want ErrAuth", auth, err)
		}
		if _, ok := tr.Status("wrong-pass." + string(auth) + "@client.example"); ok {
			t.Errorf("smtp %s: a refused login registered the message", auth)
		}
	}
	// Dovecot slows down repeated failures from one address: one try per
	// login command, IMAP LOGIN and POP3 AUTH PLAIN then the reverse.
	for _, tc := range []struct {
		proto client.Protocol
		auth  client.AuthMethod
	}{{client.IMAP, client.AuthPassword}, {client.POP3, client.AuthPlain}, {client.IMAP, client.AuthPlain}, {client.POP3, client.AuthPassword}} {
		o := fetchOpts(w.srv, tc.proto, client.SecurityTLS, t.TempDir(), w.set)
		o.Password, o.Auth = "wrong", tc.auth
		res, err := client.Fetch(ctx, o)
		if !errors.Is(err, client.ErrAuth) {
			t.Errorf("%s %s: %v, want ErrAuth", tc.proto, tc.auth, err)
		}
		if res == nil || len(res.Messages) != 0 {
			t.Errorf("%s %s: result %+v", tc.proto, tc.auth, res)
		}
		if testing.Short() {
			break
		}
	}
	if n := len(w.prov.Submissions()); n != 0 {
		t.Errorf("%d submissions with a wrong password", n)
	}
}

// TestUntrustedCertificate: a server certificate that does not chain to the
// trusted roots stops every protocol in both TLS modes, before any
// credential is sent.
func TestUntrustedCertificate(t *testing.T) {
	w := newWorld(t)
	other, err := dovecottest.NewTLS("Some Other CA")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	check := func(what string, err error) {
		t.Helper()
		var cve *tls.CertificateVerificationError
		if !errors.As(err, &cve) {
			t.Errorf("%s: %v, want a *tls.CertificateVerificationError", what, err)
		}
	}
	for _, sec := range []client.Security{client.SecurityTLS, client.SecurityStartTLS} {
		o := w.submitOpts(sec, "", nil)
		o.TLSConfig = other.ClientConfig()
		_, err := client.Send(ctx, draft("", ""), o)
		check("smtp "+string(sec), err)
		for _, proto := range []client.Protocol{client.IMAP, client.POP3} {
			fo := fetchOpts(w.srv, proto, sec, t.TempDir(), w.set)
			fo.TLSConfig = other.ClientConfig()
			_, err := client.Fetch(ctx, fo)
			check(string(proto)+" "+string(sec), err)
		}
	}
	// The server name is checked too.
	fo := fetchOpts(w.srv, client.IMAP, client.SecurityTLS, t.TempDir(), w.set)
	fo.TLSConfig = w.srv.TLS.ClientConfig()
	fo.TLSConfig.ServerName = "imap.elsewhere.example"
	_, err = client.Fetch(ctx, fo)
	check("imap wrong name", err)
	if n := len(w.prov.Submissions()); n != 0 {
		t.Errorf("%d submissions over an untrusted connection", n)
	}
}

// TestDropMidFetch fetches through a proxy that cuts every connection after
// a number of bytes: each pass fails, keeps what it completed, and the next
// resumes. In the end every message is in the folder exactly once, and no
// half-written file is left.
func TestDropMidFetch(t *testing.T) {
	set, msgs := seedSet(t)
	srv := startSeeded(t, msgs)
	var biggest int
	for _, m := range msgs {
		biggest = max(biggest, len(m.data))
	}
	for _, tc := range []struct {
		proto  client.Protocol
		target string
	}{{client.IMAP, srv.IMAPS}, {client.POP3, srv.POP3S}} {
		t.Run(string(tc.proto), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			proxy := dovecottest.NewProxy(t, tc.target)
			proxy.CutAfter(int64(2*biggest + 20000)) // room for the login and at least one message
			dir := t.TempDir()
			tr, err := client.OpenTracker(t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			if err := tr.Register(client.Sent{MessageID: set.Envelope.MsgID, From: sample.Alice,
				To: []string{sample.Bob}, Cc: []string{sample.Carol}, Time: set.Envelope.Time}); err != nil {
				t.Fatal(err)
			}
			o := fetchOpts(srv, tc.proto, client.SecurityTLS, dir, set)
			o.Server = endpoint(proxy.Addr, client.SecurityTLS)
			o.Tracker = tr
			seen := map[string]bool{}
			failed := 0
			for run := 0; ; run++ {
				if run > 40 {
					t.Fatal("no end to the fetch")
				}
				res, err := client.Fetch(ctx, o)
				for _, fm := range res.Messages {
					if !fm.New {
						t.Errorf("run %d: %s fetched again", run, fm.Path)
					}
					if seen[fm.Path] {
						t.Errorf("run %d: %s twice", run, fm.Path)
					}
					seen[fm.Path] = true
				}
				if err == nil {
					break
				}
				failed++
				if len(res.Messages) == 0 {
					t.Fatalf("run %d: no progress: %v", run, err)
				}
				if left, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(left) > 0 {
					t.Errorf("run %d: temporary files left: %v", run, left)
				}
			}
			if failed == 0 || proxy.Cuts() == 0 {
				t.Fatalf("the proxy never cut a fetch (%d failures, %d cuts)", failed, proxy.Cuts())
			}
			if len(seen) != len(msgs) || len(emlFiles(t, dir)) != len(msgs) {
				t.Fatalf("%d fetched, %d files, want %d", len(seen), len(emlFiles(t, dir)), len(msgs))
			}
			for p := range seen {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(filepath.Base(p), crlfDigest(b)[:32]) && !strings.HasPrefix(filepath.Base(p), shaHex(b)[:32]) {
					t.Errorf("%s: content does not match its name", p)
				}
			}
			// And the direct fetch agrees: nothing left.
			o.Server = endpoint(tc.target, client.SecurityTLS)
			res, err := client.Fetch(ctx, o)
			if err != nil || len(res.Messages) != 0 {
				t.Errorf("after the interrupted fetches: %d messages, err %v", len(res.Messages), err)
			}
			st, _ := tr.Status(set.Envelope.MsgID)
			if r := st.Recipient(sample.Bob); r == nil || r.State != client.StateDelivered {
				t.Errorf("bob: %+v", r)
			}
			t.Logf("%s: %d interrupted passes, %d cuts", tc.proto, failed, proxy.Cuts())
		})
	}
}

// TestNotPEC: ordinary mail and a message that is not even mail are
// fetched, kept, and reported as not PEC; the pass itself succeeds.
func TestNotPEC(t *testing.T) {
	ordinary := []byte(sample.Ordinary)
	junk := []byte("\x00\x01\x02 this is not a mail message at all \xff\xfe\r\n")
	srv := startSeeded(t, []seededMsg{{data: ordinary}, {data: junk}})
	set, err := sample.New(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, _ := client.OpenTracker("", nil)
	for _, proto := range []client.Protocol{client.IMAP, client.POP3} {
		o := fetchOpts(srv, proto, client.SecurityTLS, t.TempDir(), set)
		o.Tracker = tr
		res, err := client.Fetch(ctx, o)
		if err != nil {
			t.Fatalf("%s: %v", proto, err)
		}
		if len(res.Messages) != 2 {
			t.Fatalf("%s: %d messages", proto, len(res.Messages))
		}
		for _, fm := range res.Messages {
			if fm.Message.Kind != pec.KindUnknown || !errors.Is(fm.Err, pec.ErrNotPEC) {
				t.Errorf("%s: %s: kind %v, err %v", proto, fm.Path, fm.Message.Kind, fm.Err)
			}
			if fm.Update == nil || !fm.Update.Ignored {
				t.Errorf("%s: %s: tracker update %+v", proto, fm.Path, fm.Update)
			}
			if _, err := os.Stat(fm.Path); err != nil {
				t.Errorf("%s: not kept: %v", proto, err)
			}
		}
	}
}
