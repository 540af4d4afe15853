package imap

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/provider/mailbox"
)

// FuzzSession plays arbitrary client input, after a login, against a
// server on 127.0.0.1: the session ends when the input does, nothing in
// this package panics, and messages are lost only through EXPUNGE or
// CLOSE.
func FuzzSession(f *testing.F) {
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
	srv := New(store, auth, &Options{InsecureAuth: true, IdlePoll: time.Millisecond, ReadTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	go srv.Serve(ln)
	f.Cleanup(func() { srv.Close() })
	f.Fuzz(func(t *testing.T, input string) {
		ctx := context.Background()
		box, _ := store.Mailbox(ctx, user)
		d, _ := box.List(ctx, mailbox.Inbox)
		for range 2 - len(d.Messages) {
			box.Deliver(ctx, mailbox.Inbox, strings.NewReader(msg2), 0, time.Time{})
		}
		before, _ := box.List(ctx, mailbox.Inbox)
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		go func() {
			c.Write([]byte(`x LOGIN "` + user + `" "` + pass + "\"\r\n" + input + "\r\nz LOGOUT\r\n"))
			c.(*net.TCPConn).CloseWrite()
		}()
		var out bytes.Buffer
		if _, err := out.ReadFrom(c); err != nil {
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
