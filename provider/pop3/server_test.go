package pop3

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"

	"github.com/pecsdk/pec/provider/mailbox"
)

const (
	msg1 = "Subject: uno\r\n\r\nprima riga\r\n.punto iniziale\r\n..due punti\r\n"
	msg2 = "Subject: due\nX: y\n\nbody with bare LF\nsecond\nthird\n"
)

func TestSession(t *testing.T) {
	f := start(t, nil)
	f.deliver(t, msg1, msg2)
	c := f.dialTLS(t)
	c.send("CAPA")
	c.expect("+OK")
	caps := strings.Join(c.multi(), "|")
	for _, want := range []string{"USER", "UIDL", "TOP", "SASL PLAIN", "RESP-CODES"} {
		if !strings.Contains(caps, want) {
			t.Errorf("CAPA %q lacks %s", caps, want)
		}
	}
	if strings.Contains(caps, "STLS") {
		t.Errorf("CAPA over TLS offers STLS: %q", caps)
	}
	c.cmd("STAT", "-ERR") // not yet logged in
	c.login()
	c.cmd("STAT", "+OK 2 "+itoa(len(msg1)+len(msg2)))
	c.cmd("LIST", "+OK")
	if got := strings.Join(c.multi(), "|"); got != "1 "+itoa(len(msg1))+"|2 "+itoa(len(msg2)) {
		t.Errorf("LIST = %q", got)
	}
	c.cmd("LIST 2", "+OK 2 "+itoa(len(msg2)))
	c.cmd("LIST 3", "-ERR")
	c.cmd("UIDL", "+OK")
	uidls := c.multi()
	if len(uidls) != 2 || !strings.HasPrefix(uidls[0], "1 00000001") || len(uidls[0]) != 2+16 {
		t.Errorf("UIDL = %q", uidls)
	}
	c.cmd("RETR 1", "+OK")
	if got := strings.Join(c.multi(), "\r\n") + "\r\n"; got != msg1 {
		t.Errorf("RETR 1 = %q", got)
	}
	c.cmd("TOP 2 1", "+OK")
	if got := strings.Join(c.multi(), "|"); got != "Subject: due|X: y||body with bare LF" {
		t.Errorf("TOP 2 1 = %q", got)
	}
	c.cmd("TOP 2 0", "+OK")
	if got := strings.Join(c.multi(), "|"); got != "Subject: due|X: y|" {
		t.Errorf("TOP 2 0 = %q", got)
	}
	c.cmd("DELE 1", "+OK")
	c.cmd("DELE 1", "-ERR")
	c.cmd("RETR 1", "-ERR")
	c.cmd("STAT", "+OK 1 ")
	c.cmd("RSET", "+OK")
	c.cmd("STAT", "+OK 2 ")
	c.cmd("DELE 2", "+OK")
	c.cmd("NOOP", "+OK")

	// Deletions wait for QUIT: another session still sees both.
	c2 := f.dialTLS(t)
	c2.login()
	c2.cmd("STAT", "+OK 2 ")
	c2.cmd("QUIT", "+OK")

	c.cmd("QUIT", "+OK")
	b, _ := f.store.Mailbox(context.Background(), "mario@pec.example.it")
	d, _ := b.List(context.Background(), mailbox.Inbox)
	if len(d.Messages) != 1 || d.Messages[0].UID != 1 || d.Messages[0].Flags != mailbox.Seen {
		t.Errorf("after QUIT: %+v", d.Messages)
	}
}

// TestNoQuit: a session that ends without QUIT deletes nothing.
func TestNoQuit(t *testing.T) {
	f := start(t, nil)
	f.deliver(t, msg1)
	c := f.dialTLS(t)
	c.login()
	c.cmd("DELE 1", "+OK")
	c.c.Close()
	c = f.dialTLS(t)
	c.login()
	c.cmd("STAT", "+OK 1 ")
}

func TestSTLSAndAuthPlain(t *testing.T) {
	f := start(t, nil)
	f.deliver(t, msg1)
	c := f.dialPlain(t)
	c.send("CAPA")
	c.expect("+OK")
	if caps := strings.Join(c.multi(), "|"); !strings.Contains(caps, "STLS") || strings.Contains(caps, "USER") {
		t.Errorf("CAPA in the clear = %q", caps)
	}
	c.cmd("USER mario@pec.example.it", "-ERR [AUTH]")
	c.cmd("AUTH PLAIN "+plain("mario@pec.example.it", "segreta"), "-ERR [AUTH]")
	c.cmd("STLS", "+OK")
	tc := tls.Client(c.c, f.client)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.c = tc
	c.r.Reset(tc)
	c.cmd("STLS", "-ERR")
	c.cmd("AUTH PLAIN "+plain("mario@pec.example.it", "wrong"), "-ERR [AUTH]")
	// AUTH PLAIN with a continuation.
	c.cmd("AUTH PLAIN", "+ ")
	c.cmd(plain("mario@pec.example.it", "segreta"), "+OK")
	c.cmd("STAT", "+OK 1 ")
	c.cmd("QUIT", "+OK")
}

func plain(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

func itoa(n int) string { return strconv.Itoa(n) }
