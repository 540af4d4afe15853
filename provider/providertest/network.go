package providertest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/pectest"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/provider"
	"github.com/pecsdk/pec/provider/imap"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/spool"
	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/filestore"
	"github.com/pecsdk/pec/trace/memstore"
)

// Options configures NewNetwork. A nil *Options and zero fields mean the
// defaults.
type Options struct {
	// Names are the providers' names, each managing the domain
	// pec.<name>.example; nil: "alpha" and "beta".
	Names []string
	// Durable keeps each provider's spool, mailboxes and trace on disk,
	// in a directory of the test (spool.Dir, Maildir, filestore), so that
	// Restart finds them; else they are in memory.
	Durable bool
	// Routes are extra routes of the shared router: ordinary domains to
	// a test SMTP server, or a PEC domain to a server that never answers.
	Routes provider.StaticRouter
	// Configure, when set, adjusts each provider's configuration before
	// it starts (time limits, clock, scanner, ...).
	Configure func(name string, c *provider.Config)
	// Logger receives what the providers do; nil: silent.
	Logger *slog.Logger
}

// Network is a set of providers in the test process that reach each other
// over 127.0.0.1, listed in one index, trusting one test CA.
type Network struct {
	PKI       *pectest.PKI
	Index     *index.Snapshot
	Router    provider.StaticRouter
	Providers []*Provider

	opts Options
}

// Provider is one provider of a Network.
type Provider struct {
	Name        string // providerName
	Domain      string // the one domain it manages
	Address     string // service address: posta-certificata@Domain
	MailReceipt string // service mailbox: the index's mailReceipt

	Submission string // submission with implicit TLS, host:port
	Incoming   string // incoming point (STARTTLS offered), host:port
	IMAP       string // IMAPS, host:port

	Signer   *smime.Signer
	Accounts *provider.Accounts
	Store    mailbox.Store
	Spool    spool.Spool
	Trace    trace.Store
	Server   *provider.Provider
	Config   provider.Config // as given to provider.New

	n       *Network
	dir     string
	subL    net.Listener
	inL     net.Listener
	imapSrv *imap.Server
	mu      sync.Mutex
}

// NewNetwork starts the providers and stops them at the end of the test; it
// fails the test when they cannot start.
func NewNetwork(tb testing.TB, opts *Options) *Network {
	tb.Helper()
	n, err := Start(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(n.Close)
	return n
}

// Start starts the providers; Close stops them. Use it where there is no
// testing.TB (an Example), else NewNetwork.
func Start(opts *Options) (n *Network, err error) {
	n = &Network{Router: provider.StaticRouter{}}
	defer func() {
		if err != nil {
			n.Close()
			n = nil
		}
	}()
	if opts != nil {
		n.opts = *opts
	}
	if len(n.opts.Names) == 0 {
		n.opts.Names = []string{"alpha", "beta"}
	}
	pki, err := pectest.NewPKI("Test PEC CA")
	if err != nil {
		return nil, err
	}
	n.PKI = pki
	var entries []index.Provider
	for _, name := range n.opts.Names {
		p := &Provider{n: n, Name: "Gestore " + name, Domain: "pec." + name + ".example"}
		p.Address = "posta-certificata@" + p.Domain
		p.MailReceipt = "servizio@" + p.Domain
		p.Signer, _, err = pki.NewProvider(p.Name, p.Address, nil)
		if err != nil {
			return nil, err
		}
		if p.dir, err = os.MkdirTemp("", "providertest-"+name+"-"); err != nil {
			return nil, err
		}
		entries = append(entries, index.Provider{
			Name: p.Name, MailReceipt: p.MailReceipt, Domains: []string{p.Domain},
			Certificates: []*x509.Certificate{p.Signer.Certificate()},
		})
		n.Providers = append(n.Providers, p)
	}
	n.Index, err = index.New(entries)
	if err != nil {
		return nil, err
	}
	for _, p := range n.Providers {
		p.Accounts = provider.NewAccounts(&mailbox.AccountsOptions{Iterations: 1})
		p.Accounts.Set(p.MailReceipt, "servizio")
		if p.subL, err = listen("127.0.0.1:0"); err != nil {
			return nil, err
		}
		if p.inL, err = listen("127.0.0.1:0"); err != nil {
			return nil, err
		}
		p.Submission, p.Incoming = p.subL.Addr().String(), p.inL.Addr().String()
		n.Router[p.Domain] = p.Incoming
	}
	for d, a := range n.opts.Routes { // given routes win
		n.Router[strings.ToLower(d)] = a
	}
	for _, p := range n.Providers {
		if err := p.open(); err != nil {
			return nil, err
		}
		if err := p.start(); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// Close stops every provider and removes what they kept on disk.
func (n *Network) Close() {
	for _, p := range n.Providers {
		p.stop()
		if p.subL != nil {
			p.subL.Close()
			p.inL.Close()
		}
		if p.dir != "" {
			os.RemoveAll(p.dir)
		}
	}
}

func listen(addr string) (net.Listener, error) {
	var l net.Listener
	var err error
	for range 50 { // a port closed by Restart may take a moment to free
		if l, err = net.Listen("tcp", addr); err == nil {
			return l, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, err
}

// Provider returns the provider whose name (as given in Options.Names, or
// the full providerName) or domain is name, or nil.
func (n *Network) Provider(name string) *Provider {
	for _, p := range n.Providers {
		if strings.EqualFold(p.Name, name) || strings.EqualFold(p.Name, "Gestore "+name) || strings.EqualFold(p.Domain, name) {
			return p
		}
	}
	return nil
}

// Pool returns a pool holding the test CA: the RootCAs of a client of the
// providers' servers.
func (n *Network) Pool() *x509.CertPool { return n.PKI.Pool() }

// ClientTLS returns a TLS configuration that trusts the providers' servers.
func (n *Network) ClientTLS() *tls.Config {
	return &tls.Config{RootCAs: n.PKI.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// VerifyOptions are the options a client of the network verifies with:
// live, the network's index as Authority.
func (n *Network) VerifyOptions() *smime.VerifyOptions {
	return &smime.VerifyOptions{Roots: n.PKI.Pool(), Authority: n.Index}
}

// AddUser creates the mailbox local@Domain with password and returns its
// address.
func (p *Provider) AddUser(local, password string) string {
	addr := local + "@" + p.Domain
	p.Accounts.Set(addr, password)
	return addr
}

// Messages returns the messages of folder (mailbox.Inbox, mailbox.Sent) of
// user's mailbox, in order of arrival.
func (p *Provider) Messages(user, folder string) ([][]byte, error) {
	ctx := context.Background()
	mb, err := p.Store.Mailbox(ctx, strings.ToLower(user))
	if err != nil {
		return nil, err
	}
	fd, err := mb.List(ctx, folder)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, m := range fd.Messages {
		rc, err := mb.Open(ctx, folder, m.UID)
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		_, err = copyAll(&b, rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, []byte(b.String()))
	}
	return out, nil
}

// open makes the stores: in memory, or in the provider's directory.
func (p *Provider) open() error {
	ctx := context.Background()
	if !p.n.opts.Durable {
		if p.Spool == nil {
			p.Spool = spool.NewMemory(nil)
			p.Store = mailbox.NewMemory()
			p.Trace = memstore.New(nil)
		}
		return nil
	}
	sp, err := spool.Open(ctx, filepath.Join(p.dir, "spool"), nil)
	if err != nil {
		return err
	}
	st, err := mailbox.OpenMaildir(filepath.Join(p.dir, "mail"), &mailbox.MaildirOptions{Once: true})
	if err != nil {
		sp.Close()
		return err
	}
	tr, err := filestore.Open(ctx, filepath.Join(p.dir, "trace"), nil)
	if err != nil {
		sp.Close()
		return err
	}
	p.Spool, p.Store, p.Trace = sp, st, tr
	return nil
}

// start makes the provider and serves its listeners.
func (p *Provider) start() error {
	cert, err := serverCert(p.n.PKI, p.Domain)
	if err != nil {
		return err
	}
	srvTLS := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	c := provider.Config{
		Name: p.Name, Address: p.Address, Domains: []string{p.Domain}, ServiceMailbox: p.MailReceipt,
		Signer: p.Signer, Index: p.n.Index, Roots: p.n.PKI.Pool(),
		Spool: p.Spool, Store: p.Store, Users: p.Accounts, Trace: p.Trace,
		TLS: srvTLS, OutboundTLS: &tls.Config{RootCAs: p.n.PKI.Pool(), MinVersion: tls.VersionTLS12},
		Router: p.n.Router, Hostname: p.Domain,
		RetryMin: 100 * time.Millisecond, RetryMax: 2 * time.Second, PollInterval: 100 * time.Millisecond,
		CommandTimeout: 10 * time.Second, Logger: p.n.opts.Logger, SealInterval: -1,
	}
	if f := p.n.opts.Configure; f != nil {
		f(strings.TrimPrefix(p.Name, "Gestore "), &c)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.subL == nil {
		if p.subL, err = listen(p.Submission); err != nil {
			return err
		}
		if p.inL, err = listen(p.Incoming); err != nil {
			p.subL.Close()
			p.subL = nil
			return err
		}
	}
	srv, err := provider.New(&c)
	if err != nil {
		return err
	}
	p.Server, p.Config = srv, c
	go srv.ServeSubmission(tls.NewListener(p.subL, srvTLS))
	go srv.ServeIncoming(p.inL)
	is := imap.New(p.Store, p.Accounts, &imap.Options{TLSConfig: srvTLS})
	il, err := listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	p.IMAP = il.Addr().String()
	go is.ServeTLS(il)
	p.imapSrv = is
	return nil
}

// stop closes the provider and its stores.
func (p *Provider) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Server == nil {
		return
	}
	p.Server.Close() // closes the listeners too
	p.imapSrv.Close()
	p.Server, p.subL, p.inL = nil, nil, nil
	if p.n.opts.Durable {
		p.Spool.Close()
		p.Trace.Close()
	}
}

// Restart closes the provider as a crash would leave it (its servers and
// workers stopped at once, whatever they were doing) and starts it again on
// the same spool, mailboxes and trace, at the same addresses. It needs
// Options.Durable.
func (p *Provider) Restart() error {
	if !p.n.opts.Durable {
		return errors.New("providertest: Restart needs Options.Durable")
	}
	p.stop()
	if err := p.open(); err != nil {
		return err
	}
	return p.start()
}

// String names the provider.
func (p *Provider) String() string { return fmt.Sprintf("%s (%s)", p.Name, p.Domain) }
