package imap

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/pecsdk/pec/internal/dovecottest"
	"github.com/pecsdk/pec/provider/mailbox"
)

const user, pass = "mario@pec.example.it", "segreta"

// fixture is a server on two 127.0.0.1 listeners: IMAPS and IMAP with
// STARTTLS.
type fixture struct {
	srv     *Server
	store   mailbox.Store
	cert    *dovecottest.TLS
	imaps   string
	imap    string
	serveCh chan error
}

func start(t testing.TB, store mailbox.Store, opts *Options) *fixture {
	t.Helper()
	cert, err := dovecottest.NewTLS("IMAP Test CA")
	if err != nil {
		t.Fatal(err)
	}
	if store == nil {
		store = mailbox.NewMemory()
	}
	auth := mailbox.NewAccounts(&mailbox.AccountsOptions{Iterations: 1000})
	auth.Set(user, pass)
	f := &fixture{store: store, cert: cert, serveCh: make(chan error, 2)}
	if opts == nil {
		opts = &Options{}
	}
	opts.TLSConfig = cert.ServerConfig()
	if opts.Throttle == nil {
		opts.Throttle = &mailbox.Throttle{Base: time.Millisecond, Max: 20 * time.Millisecond}
	}
	if opts.IdlePoll == 0 {
		opts.IdlePoll = 20 * time.Millisecond
	}
	f.srv = New(store, auth, opts)
	tln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.imaps, f.imap = tln.Addr().String(), pln.Addr().String()
	go func() { f.serveCh <- f.srv.ServeTLS(tln) }()
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

func (f *fixture) box(t testing.TB) mailbox.Mailbox {
	t.Helper()
	b, err := f.store.Mailbox(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fixture) deliver(t testing.TB, folder string, msgs ...string) {
	t.Helper()
	b := f.box(t)
	for _, m := range msgs {
		if _, err := b.Deliver(context.Background(), folder, strings.NewReader(m), 0, time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fixture) client(t testing.TB, opts *imapclient.Options) *imapclient.Client {
	t.Helper()
	if opts == nil {
		opts = &imapclient.Options{}
	}
	opts.TLSConfig = f.cert.ClientConfig()
	c, err := imapclient.DialTLS(f.imaps, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (f *fixture) login(t testing.TB, opts *imapclient.Options) *imapclient.Client {
	t.Helper()
	c := f.client(t, opts)
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}
