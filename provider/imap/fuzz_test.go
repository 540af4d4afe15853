package imap

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pecsdk/pec/internal/dovecottest"
	"github.com/pecsdk/pec/provider/mailbox"
)

// FuzzSession plays arbitrary client input, after a login, against a
// server on 127.0.0.1: the session ends when the input does, nothing in
// this package panics, and messages are lost only through EXPUNGE or
// CLOSE.
func FuzzSession(f *testing.F) { fuzzSession(f, false) }

// FuzzSessionTLS is FuzzSession over IMAPS, where the commands of QUOTA
// are answered in front of imapserver (wire.go): they are taken only
// where a command starts, and the session stays in step.
func FuzzSessionTLS(f *testing.F) {
	for _, s := range []string{
		"a GETQUOTAROOT INBOX\r\nb GETQUOTA \"\"\r\nc SELECT INBOX\r\nd getquotaroot {5+}\r\nINBOX\r\n",
		"a APPEND INBOX {22+}\r\nq GETQUOTAROOT INBOX\r\n\r\nb GETQUOTAROOT INBOX\r\n",
		"a IDLE\r\nDONE\r\nb GETQUOTAROOT Archive\r\nc SETQUOTA \"\" (STORAGE 1)\r\nd GETQUOTA x y\r\n",
		"a LIST \"\" {5000}\r\nq GETQUOTAROOT INBOX\r\nr GETQUOTAROOT {9000+}\r\n",
	} {
		f.Add(s)
	}
	fuzzSession(f, true)
}

func fuzzSession(f *testing.F, overTLS bool) {
	for _, s := range []string{
		"a SELECT INBOX\r\nb FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE BODY.PEEK[] BODY[1.MIME] BODY[HEADER.FIELDS (Subject)]<0.10>)\r\n",
		"a SELECT INBOX\r\nb STORE 1 +FLAGS (\\Deleted)\r\nc EXPUNGE\r\nd SEARCH OR UNSEEN LARGER 10 NOT BODY x\r\n",
		"a EXAMINE INBOX\r\nb UID FETCH *:1 (RFC822.SIZE)\r\nc COPY 1:* Sent\r\nd CLOSE\r\ne STATUS Sent (MESSAGES UIDNEXT UNSEEN SIZE)\r\n",
		"a LIST \"\" *\r\nb CREATE Pratiche\r\nc APPEND Pratiche (\\Seen) {5+}\r\nhello\r\nd UID SEARCH UID 1:*\r\n",
		"a SELECT Archive\r\nb STORE 1:* +FLAGS (\\Deleted)\r\nc EXPUNGE\r\nd APPEND Archive {5+}\r\nhello\r\ne SELECT INBOX\r\nf COPY 1 Archive\r\n",
		"a SELECT INBOX\r\nb IDLE\r\nDONE\r\nc UID EXPUNGE 1\r\n",
	} {
		f.Add(s)
	}
	var logs syncBuffer
	store := mailbox.NewMemory()
	auth := mailbox.NewAccounts(&mailbox.AccountsOptions{Iterations: 1})
	auth.Set(user, pass)
	store.SetQuota(user, 1<<20)
	cert, err := dovecottest.NewTLS("IMAP Fuzz CA")
	if err != nil {
		f.Fatal(err)
	}
	srv := New(store, auth, &Options{InsecureAuth: true, TLSConfig: cert.ServerConfig(), IdlePoll: time.Millisecond, ReadTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	if overTLS {
		go srv.ServeTLS(ln)
	} else {
		go srv.Serve(ln)
	}
	f.Cleanup(func() { srv.Close() })
	f.Fuzz(func(t *testing.T, input string) {
		ctx := context.Background()
		box, _ := store.Mailbox(ctx, user)
		d, _ := box.List(ctx, mailbox.Inbox)
		for range 2 - len(d.Messages) {
			box.Deliver(ctx, mailbox.Inbox, strings.NewReader(msg2), 0, time.Time{})
		}
		before, _ := box.List(ctx, mailbox.Inbox)
		tc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		var c net.Conn = tc
		if overTLS {
			c = tls.Client(tc, cert.ClientConfig())
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		go func() {
			c.Write([]byte(`x LOGIN "` + user + `" "` + pass + "\"\r\n" + input + "\r\nz LOGOUT\r\n"))
			if overTLS {
				c.(*tls.Conn).CloseWrite()
			} else {
				tc.(*net.TCPConn).CloseWrite()
			}
		}()
		var out bytes.Buffer
		// Over TLS the client's close_notify may still be unread when the
		// server closes after LOGOUT: a reset, which ends the session too.
		if _, err := out.ReadFrom(c); err != nil && !(overTLS && errors.Is(err, syscall.ECONNRESET)) {
			t.Fatalf("session did not end: %v", err)
		}
		if strings.Contains(logs.String(), "panic") {
			t.Fatalf("panic:\n%s", logs.String())
		}
		after, _ := box.List(ctx, mailbox.Inbox)
		up := strings.ToUpper(input)
		if len(after.Messages) < len(before.Messages) && !strings.Contains(up, "EXPUNGE") && !strings.Contains(up, "CLOSE") {
			t.Fatalf("messages lost without EXPUNGE: %d → %d", len(before.Messages), len(after.Messages))
		}
	})
}

// FuzzCommand reads arbitrary bytes as a command of ours: no panic, and
// what quoteAString writes is read back as it was.
func FuzzCommand(f *testing.F) {
	for _, s := range []string{
		"a GETQUOTAROOT INBOX\r\n", "a getquota \"\"\r\n", "a GETQUOTAROOT {5}\r\nINBOX\r\n",
		"a GETQUOTAROOT {5+}\r\nINB\r\n", "a GETQUOTAROOT \"a\\\"b\"\r\n", "+ GETQUOTA\r\n", "a SETQUOTA \"\" (STORAGE 1)\r\n",
		"a APPEND INBOX {99999999999999999999}\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseOwn(b)
		if err == nil && (c.tag == "" || c.name == "" || len(c.args) > 4) {
			t.Fatalf("parseOwn(%q) = %+v", b, c)
		}
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			if n, _, ok := literalAt(b[:i+1]); ok && n < 0 {
				t.Fatalf("literalAt(%q) = %d", b[:i+1], n)
			}
		}
		commandName(b)
		s := string(b)
		if len(s) > maxOwnLiteral {
			return
		}
		line := quoteAString([]byte("t GETQUOTAROOT "), s)
		line = append(line, "\r\n"...)
		c, err = parseOwn(line)
		if err != nil || len(c.args) != 1 || c.args[0] != s {
			t.Fatalf("%q written as %q, read back as %+v, %v", s, line, c, err)
		}
	})
}
