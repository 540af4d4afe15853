package pop3

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/provider/mailbox"
)

// FuzzParseCommand: a parsed command, written back, parses to the same
// command.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"USER mario", "PASS a b", "TOP 1 2", "AUTH PLAIN AGEAYg==", "quit", "RETR  1", "X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd, err := parseCommand(line)
		if err != nil {
			return
		}
		again, err := parseCommand(cmd.String())
		if err != nil {
			t.Fatalf("%q → %q: %v", line, cmd.String(), err)
		}
		if again.String() != cmd.String() {
			t.Fatalf("%q → %q → %q", line, cmd.String(), again.String())
		}
	})
}

// FuzzWriteMultiline: unstuffing the response gives the message back
// with CRLF line ends.
func FuzzWriteMultiline(f *testing.F) {
	for _, s := range []string{"A: b\r\n\r\n.x\r\n", "a\nb", ".", "\r", "\r\r\n.\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		if err := writeMultiline(w, strings.NewReader(msg), -1); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		resp := out.String()
		if !strings.HasSuffix(resp, "\r\n.\r\n") && resp != ".\r\n" {
			t.Fatalf("unterminated: %q", resp)
		}
		lines := strings.Split(strings.TrimSuffix(resp, ".\r\n"), "\r\n")
		lines = lines[:len(lines)-1]
		for i, l := range lines {
			if strings.HasPrefix(l, ".") {
				if !strings.HasPrefix(l, "..") {
					t.Fatalf("unstuffed dot line %q", l)
				}
				lines[i] = l[1:]
			}
		}
		want := strings.ReplaceAll(msg, "\r\n", "\n")
		want = strings.TrimSuffix(want, "\n")
		got := strings.Join(lines, "\n")
		if msg != "" && got != want {
			t.Fatalf("round trip:\n%q\n%q", got, want)
		}
	})
}

// FuzzSession plays arbitrary client input against a session: it ends
// when the input does, every response line ends in CRLF, and the maildrop
// loses messages only through DELE and QUIT.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"USER mario\r\nPASS segreta\r\nSTAT\r\nLIST\r\nUIDL 1\r\nRETR 1\r\nTOP 2 0\r\nDELE 1\r\nRSET\r\nQUIT\r\n",
		"CAPA\r\nAUTH PLAIN\r\nAG1hcmlvAHNlZ3JldGE=\r\nRETR 2\r\nDELE 2\r\nQUIT\r\n",
		"USER mario\r\nPASS x\r\nUSER mario\r\nPASS segreta\r\nNOOP\r\nQUIT\r\n",
		"\x00\r\n\n\r\r\nUSER\r\n",
	} {
		f.Add(s)
	}
	store := mailbox.NewMemory()
	auth := mailbox.NewAccounts(&mailbox.AccountsOptions{Iterations: 1})
	auth.Set("mario", "segreta")
	srv := New(store, auth, &Options{InsecureAuth: true, MaxLineLength: 128, Throttle: &mailbox.Throttle{Base: time.Nanosecond, Max: time.Nanosecond}})
	f.Fuzz(func(t *testing.T, input string) {
		ctx := context.Background()
		box, _ := store.Mailbox(ctx, "mario")
		d, _ := box.List(ctx, mailbox.Inbox)
		for range 2 - len(d.Messages) {
			box.Deliver(ctx, mailbox.Inbox, strings.NewReader(msg1), 0, time.Time{})
		}
		before, _ := box.List(ctx, mailbox.Inbox)
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			newSession(srv, server).serve()
			close(done)
		}()
		go func() {
			client.Write([]byte(input))
			client.Close()
		}()
		var out bytes.Buffer
		client.SetReadDeadline(time.Now().Add(10 * time.Second))
		out.ReadFrom(client)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("session did not end")
		}
		if s := out.String(); s != "" && !strings.HasSuffix(s, "\r\n") {
			t.Fatalf("output not ended by CRLF: %q", s)
		}
		after, _ := box.List(ctx, mailbox.Inbox)
		if len(after.Messages) < len(before.Messages) && !strings.Contains(strings.ToUpper(input), "DELE") {
			t.Fatalf("messages lost without DELE: %d → %d", len(before.Messages), len(after.Messages))
		}
	})
}
