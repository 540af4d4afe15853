package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/internal/dovecottest"
	"github.com/pecsdk/pec/provider/mailbox"
)

// fixture is a server on two 127.0.0.1 listeners: POP3S and POP3 with STLS.
type fixture struct {
	srv     *Server
	store   *mailbox.Memory
	auth    *mailbox.Accounts
	pop3s   string
	pop3    string
	client  *tls.Config
	serveCh chan error
}

func start(t testing.TB, opts *Options) *fixture {
	t.Helper()
	cert, err := dovecottest.NewTLS("POP3 Test CA")
	if err != nil {
		t.Fatal(err)
	}
	return startWith(t, cert, opts)
}

func splitAddr(t testing.TB, addr string) (string, int) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return host, n
}

func startWith(t testing.TB, cert *dovecottest.TLS, opts *Options) *fixture {
	t.Helper()
	f := &fixture{store: mailbox.NewMemory(), auth: mailbox.NewAccounts(&mailbox.AccountsOptions{Iterations: 1000}), client: cert.ClientConfig(), serveCh: make(chan error, 2)}
	f.auth.Set("mario@pec.example.it", "segreta")
	if opts == nil {
		opts = &Options{}
	}
	opts.TLSConfig = cert.ServerConfig()
	if opts.Throttle == nil {
		opts.Throttle = &mailbox.Throttle{Base: time.Millisecond, Max: 20 * time.Millisecond}
	}
	f.srv = New(f.store, f.auth, opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln := tls.NewListener(ln, cert.ServerConfig())
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.pop3s, f.pop3 = ln.Addr().String(), pln.Addr().String()
	go func() { f.serveCh <- f.srv.Serve(tln) }()
	go func() { f.serveCh <- f.srv.Serve(pln) }()
	t.Cleanup(func() {
		f.srv.Close()
		for range 2 {
			if err := <-f.serveCh; !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve = %v", err)
			}
		}
	})
	return f
}

func (f *fixture) deliver(t testing.TB, msgs ...string) {
	t.Helper()
	b, err := f.store.Mailbox(context.Background(), "mario@pec.example.it")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if _, err := b.Deliver(context.Background(), mailbox.Inbox, strings.NewReader(m), 0, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
}

// conn is a test client speaking raw POP3.
type conn struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader
}

func (f *fixture) dialTLS(t testing.TB) *conn {
	t.Helper()
	c, err := tls.Dial("tcp", f.pop3s, f.client)
	if err != nil {
		t.Fatal(err)
	}
	cc := &conn{t: t, c: c, r: bufio.NewReader(c)}
	t.Cleanup(func() { c.Close() })
	cc.expect("+OK")
	return cc
}

func (f *fixture) dialPlain(t testing.TB) *conn {
	t.Helper()
	c, err := net.Dial("tcp", f.pop3)
	if err != nil {
		t.Fatal(err)
	}
	cc := &conn{t: t, c: c, r: bufio.NewReader(c)}
	t.Cleanup(func() { c.Close() })
	cc.expect("+OK")
	return cc
}

func (c *conn) send(line string) {
	c.t.Helper()
	c.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.c.Write([]byte(line + "\r\n")); err != nil {
		c.t.Fatal(err)
	}
}

func (c *conn) line() string {
	c.t.Helper()
	c.c.SetDeadline(time.Now().Add(10 * time.Second))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

// expect reads a line and checks its prefix.
func (c *conn) expect(prefix string) string {
	c.t.Helper()
	l := c.line()
	if !strings.HasPrefix(l, prefix) {
		c.t.Fatalf("got %q, want %q…", l, prefix)
	}
	return l
}

// cmd sends line and checks the status prefix of the reply.
func (c *conn) cmd(line, prefix string) string {
	c.t.Helper()
	c.send(line)
	return c.expect(prefix)
}

// multi reads a multi-line body after its status line, unstuffed.
func (c *conn) multi() []string {
	c.t.Helper()
	var lines []string
	for {
		l := c.line()
		if l == "." {
			return lines
		}
		lines = append(lines, strings.TrimPrefix(l, "."))
	}
}

func (c *conn) login() {
	c.t.Helper()
	c.cmd("USER mario@pec.example.it", "+OK")
	c.cmd("PASS segreta", "+OK")
}
