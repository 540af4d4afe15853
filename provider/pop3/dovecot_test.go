package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pecsdk/pec/internal/dovecottest"
	"github.com/pecsdk/pec/provider/mailbox"
)

// TestDovecotUIDL: Dovecot's POP3 server on the same Maildir gives the
// same unique-ids, sizes and messages as this one, so that a user's client
// does not fetch everything again when one replaces the other.
func TestDovecotUIDL(t *testing.T) {
	const user, pass = "mario@pec.example.it", "segreta"
	dc := dovecottest.Start(t, &dovecottest.Options{Users: map[string]string{user: pass}})
	root := filepath.Dir(dc.Maildir(user))
	store, err := mailbox.OpenMaildir(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	box, _ := store.Mailbox(context.Background(), user)
	for _, m := range []string{msg1, strings.ReplaceAll(msg2, "\n", "\r\n"), msg1} {
		if _, err := box.Deliver(context.Background(), mailbox.Inbox, strings.NewReader(m), 0, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	box.Expunge(context.Background(), mailbox.Inbox, []uint32{2})
	st, _ := os.Stat(dc.Maildir(user))
	owner := st.Sys().(*syscall.Stat_t)
	filepath.WalkDir(store.Dir(user), func(p string, _ fs.DirEntry, err error) error {
		if err == nil {
			os.Chown(p, int(owner.Uid), int(owner.Gid))
		}
		return nil
	})

	auth := mailbox.NewAccounts(&mailbox.AccountsOptions{Iterations: 1000})
	auth.Set(user, pass)
	cert, _ := dovecottest.NewTLS("ours")
	srv := New(store, auth, nil)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(tls.NewListener(ln, cert.ServerConfig()))
	defer srv.Close()

	listings := map[string][]string{}
	for name, target := range map[string]struct {
		addr string
		conf *tls.Config
	}{"dovecot": {dc.POP3S, dc.TLS.ClientConfig()}, "ours": {ln.Addr().String(), cert.ClientConfig()}} {
		c, err := tls.Dial("tcp", target.addr, target.conf)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cc := &conn{t: t, c: c, r: bufio.NewReader(c)}
		cc.expect("+OK")
		cc.cmd("USER "+user, "+OK")
		cc.cmd("PASS "+pass, "+OK")
		var all []string
		for _, cmd := range []string{"UIDL", "LIST", "RETR 2"} {
			cc.cmd(cmd, "+OK")
			all = append(all, cc.multi()...)
		}
		listings[name] = all
		cc.cmd("QUIT", "+OK")
	}
	if d, o := strings.Join(listings["dovecot"], "\n"), strings.Join(listings["ours"], "\n"); d != o {
		t.Errorf("Dovecot:\n%s\nours:\n%s", d, o)
	}
}
