package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/provider"
	"github.com/pecsdk/pec/provider/imap"
	"github.com/pecsdk/pec/provider/lmtp"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/pop3"
	"github.com/pecsdk/pec/provider/spool"
	"github.com/pecsdk/pec/provider/web"
	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/filestore"
	"github.com/pecsdk/pec/trace/pgstore"
)

// node is one provider of a configuration, running: the provider's
// submission and incoming servers, its IMAP and POP3 servers, the index
// mirror, and the stores under them.
type node struct {
	cfg       *Config
	log       *slog.Logger
	signer    *smime.Signer
	users     *fileAccounts
	mirror    *index.Mirror
	router    *liveRouter
	ordinary  atomic.Int32 // ordinaryMode of [accounts] ordinary, live
	reloadMu  sync.Mutex   // one reload at a time
	prov      *provider.Provider
	imap      *imap.Server
	pop3      []*pop3.Server
	web       *web.Server
	listeners []boundListener
	closers   []io.Closer // the stores, closed last
	stop      context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	errs      chan error
}

// boundListener is a listener and what it serves.
type boundListener struct {
	Role string // "submission", "incoming", "imap", ...
	TLS  string // "implicit TLS" or "STARTTLS"
	ln   net.Listener
}

// Addr returns the address the listener is bound to.
func (b boundListener) Addr() string { return b.ln.Addr().String() }

// nodeOptions are the choices of the program around a configuration.
type nodeOptions struct {
	// LoopbackOnly refuses a listener on any other address: the demo
	// network, whose passwords are published, never binds another.
	LoopbackOnly bool
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// PollInterval, RetryMin and RetryMax override the provider's
	// defaults (the demo network and its tests want quick retries).
	PollInterval, RetryMin, RetryMax time.Duration
}

// startNode opens everything a configuration names and starts serving.
// On error, whatever was opened is closed again.
func startNode(ctx context.Context, cfg *Config, log *slog.Logger, opts *nodeOptions) (_ *node, err error) {
	if opts == nil {
		opts = &nodeOptions{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &node{cfg: cfg, log: log, errs: make(chan error, 8)}
	runCtx, stop := context.WithCancel(context.Background())
	n.stop = stop
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	if opts.LoopbackOnly {
		if err := checkLoopback(cfg); err != nil {
			return nil, err
		}
	}
	if n.signer, err = openSigner(ctx, cfg.Provider); err != nil {
		return nil, err
	}
	srvTLS, outTLS, err := loadTLS(cfg.TLS)
	if err != nil {
		return nil, err
	}
	mirror, err := openIndex(ctx, cfg.Index, log)
	if err != nil {
		return nil, err
	}
	n.mirror = mirror
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		mirror.Run(runCtx)
	}()
	if n.users, err = loadAccounts(cfg.Accounts.File); err != nil {
		return nil, err
	}
	if err := checkQuotas(cfg, n.users); err != nil {
		return nil, err
	}
	if !opts.LoopbackOnly {
		if err := refuseDemoPasswords(ctx, cfg, n.users); err != nil {
			return nil, err
		}
	}
	sp, err := spool.Open(ctx, cfg.Storage.Spool, &spool.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", cfg.Storage.Spool, err)
	}
	n.closers = append(n.closers, sp)
	store, err := openStore(cfg, n.users, log)
	if err != nil {
		return nil, err
	}
	tr, err := openTrace(ctx, cfg.Storage.Trace)
	if err != nil {
		return nil, fmt.Errorf("trace %s: %w", cfg.Storage.Trace, err)
	}
	n.closers = append(n.closers, tr)

	// Bind every listener before serving any, so that a taken port
	// stops the start with nothing half served.
	for _, l := range []struct{ role, addr, tls string }{
		{"submission", cfg.Listen.Submission, "implicit TLS"},
		{"submission", cfg.Listen.SubmissionSTARTTLS, "STARTTLS"},
		{"incoming", cfg.Listen.Incoming, "STARTTLS offered"},
		{"imap", cfg.Listen.IMAP, "implicit TLS"},
		{"imap", cfg.Listen.IMAPSTARTTLS, "STARTTLS"},
		{"pop3", cfg.Listen.POP3, "implicit TLS"},
		{"pop3", cfg.Listen.POP3STARTTLS, "STARTTLS"},
		{"web", cfg.Listen.Web, "HTTPS"},
	} {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			return nil, err
		}
		n.listeners = append(n.listeners, boundListener{Role: l.role, TLS: l.tls, ln: ln})
	}

	n.router = &liveRouter{}
	n.router.set(cfg.Routes)
	n.setOrdinary(cfg.Accounts.Ordinary)
	if err := publishEntry(cfg, n.signer, opts.Now); err != nil {
		return nil, err
	}
	// One throttle for every listener that takes a password, so that
	// guesses spread over SMTP, IMAP, POP3 and the web are counted together.
	throttle := &mailbox.Throttle{}
	pc := &provider.Config{
		Throttle: throttle,
		Name:     cfg.Provider.Name, Address: n.signer.Address(), Domains: cfg.Provider.Domains,
		ServiceMailbox: cfg.Provider.ServiceMailbox, Signer: n.signer, Index: mirror,
		Spool: sp, Store: store, Users: n.users, Trace: tr, SealInterval: cfg.Storage.SealInterval,
		TLS: srvTLS, OutboundTLS: outTLS, Router: n.router, Hostname: cfg.Listen.Hostname,
		MaxTotal: cfg.Limits.MaxTotal, MaxRecipients: cfg.Limits.MaxRecipients, RefuseOrdinary: n.refuseOrdinary,
		WarnAfter: cfg.TimeLimits.Warning, GiveUpAfter: cfg.TimeLimits.Final,
		PollInterval: opts.PollInterval, RetryMin: opts.RetryMin, RetryMax: opts.RetryMax,
		Now: opts.Now, Logger: log,
	}
	if n.prov, err = provider.New(pc); err != nil {
		return nil, err
	}
	n.imap = imap.New(store, n.users, &imap.Options{TLSConfig: srvTLS, Throttle: throttle, Logger: log})
	if cfg.Listen.Web != "" {
		n.web = web.New(store, n.users, &web.Options{Verify: &smime.VerifyOptions{Authority: mirror}, Throttle: throttle, Logger: log})
	}
	for _, l := range n.listeners {
		var serve func() error
		switch {
		case l.Role == "submission" && l.TLS == "implicit TLS":
			serve = func() error { return n.prov.ServeSubmission(tls.NewListener(l.ln, srvTLS)) }
		case l.Role == "submission":
			serve = func() error { return n.prov.ServeSubmission(l.ln) }
		case l.Role == "incoming":
			serve = func() error { return n.prov.ServeIncoming(l.ln) }
		case l.Role == "imap" && l.TLS == "implicit TLS":
			serve = func() error { return n.imap.ServeTLS(l.ln) }
		case l.Role == "imap":
			serve = func() error { return n.imap.Serve(l.ln) }
		case l.Role == "web":
			serve = func() error { return n.web.Serve(tls.NewListener(l.ln, srvTLS)) }
		case l.Role == "pop3":
			s := pop3.New(store, n.users, &pop3.Options{TLSConfig: srvTLS, Throttle: throttle, Logger: log})
			n.pop3 = append(n.pop3, s)
			ln := l.ln
			if l.TLS == "implicit TLS" {
				ln = tls.NewListener(ln, srvTLS)
			}
			serve = func() error { return s.Serve(ln) }
		}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			if err := serve(); err != nil && !closedErr(err) {
				log.Error("server stopped", "role", l.Role, "addr", l.Addr(), "err", err)
				select {
				case n.errs <- fmt.Errorf("%s %s: %w", l.Role, l.Addr(), err):
				default:
				}
			}
		}()
	}
	return n, nil
}

// closedErr reports the errors of a server stopped on purpose.
func closedErr(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, imap.ErrServerClosed) || errors.Is(err, web.ErrClosed) ||
		errors.Is(err, pop3.ErrServerClosed) || errors.Is(err, smtp.ErrServerClosed)
}

// Err returns a channel on which a server that stopped by itself reports;
// it is closed by Close.
func (n *node) Err() <-chan error { return n.errs }

// Shutdown stops accepting connections, lets the sessions and the
// messages being processed finish until ctx is done, then closes the
// stores. What was accepted and not processed stays in the spool for the
// next start.
func (n *node) Shutdown(ctx context.Context) error {
	var errs []error
	if n.prov != nil {
		errs = append(errs, n.prov.Shutdown(ctx))
	}
	if n.imap != nil {
		errs = append(errs, n.imap.Shutdown(ctx))
	}
	for _, s := range n.pop3 {
		errs = append(errs, s.Shutdown(ctx))
	}
	if n.web != nil {
		errs = append(errs, n.web.Shutdown(ctx))
	}
	n.Close()
	return errors.Join(errs...)
}

// Close stops everything at once and closes the stores.
func (n *node) Close() error {
	var err error
	n.closeOnce.Do(func() { err = n.close() })
	return err
}

// close is Close, once.
func (n *node) close() error {
	if n.prov != nil {
		n.prov.Close()
	}
	if n.imap != nil {
		n.imap.Close()
	}
	for _, s := range n.pop3 {
		s.Close()
	}
	if n.web != nil {
		n.web.Close()
	}
	for _, l := range n.listeners {
		l.ln.Close()
	}
	n.stop()
	n.wg.Wait()
	close(n.errs)
	var errs []error
	for i := len(n.closers) - 1; i >= 0; i-- {
		errs = append(errs, n.closers[i].Close())
	}
	n.closers = nil
	return errors.Join(errs...)
}

// openSigner loads the provider's certificate chain and key.
func openSigner(ctx context.Context, p ProviderConfig) (*smime.Signer, error) {
	chain, err := loadCerts(p.Certificate)
	if err != nil {
		return nil, err
	}
	key, err := openKey(ctx, p.Key)
	if err != nil {
		return nil, err
	}
	if err := matchKey(chain[0], key); err != nil {
		return nil, fmt.Errorf("%s: %w", p.Key, err)
	}
	s, err := smime.NewSigner(key, chain, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.Certificate, err)
	}
	if s.Address() == "" {
		return nil, fmt.Errorf("%s: the certificate names no e-mail address (PEC.md §12.3)", p.Certificate)
	}
	return s, nil
}

// loadTLS loads the servers' certificate and the roots of outbound TLS.
func loadTLS(t TLSConfig) (srv, out *tls.Config, err error) {
	cert, err := tls.LoadX509KeyPair(t.Certificate, t.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: %w", err)
	}
	srv = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	out = &tls.Config{MinVersion: tls.VersionTLS12}
	if t.OutboundAnchors != "" {
		certs, err := loadCerts(t.OutboundAnchors)
		if err != nil {
			return nil, nil, err
		}
		out.RootCAs = x509.NewCertPool()
		for _, c := range certs {
			out.RootCAs.AddCert(c)
		}
	}
	return srv, out, nil
}

// openTrace opens the trace store: PostgreSQL for a URL, else the
// embedded store in a directory.
func openTrace(ctx context.Context, where string) (trace.Store, error) {
	if strings.HasPrefix(where, "postgres://") || strings.HasPrefix(where, "postgresql://") {
		return pgstore.Open(ctx, where, nil)
	}
	return filestore.Open(ctx, where, nil)
}

// checkLoopback refuses any listener that is not on a loopback address.
func checkLoopback(cfg *Config) error {
	l := cfg.Listen
	for _, a := range []string{l.Submission, l.SubmissionSTARTTLS, l.Incoming, l.IMAP, l.IMAPSTARTTLS, l.POP3, l.POP3STARTTLS} {
		if a == "" {
			continue
		}
		if !loopback(a) {
			return fmt.Errorf("%s: the demo network's passwords are published: it listens on loopback addresses only", a)
		}
	}
	return nil
}

// loopback reports whether host:port names a loopback address.
func loopback(addr string) bool {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// refuseDemoPasswords refuses a configuration that listens beyond
// loopback while an account still has its published demo password.
func refuseDemoPasswords(ctx context.Context, cfg *Config, users *fileAccounts) error {
	if checkLoopback(cfg) == nil {
		return nil
	}
	for _, a := range demoAccounts() {
		if users.Authenticate(ctx, a.User, a.Password) == nil {
			return fmt.Errorf("account %s has the published demo password: it may listen on loopback addresses only", a.User)
		}
	}
	return nil
}

// newRouter routes the domains of routes to their address, and every
// other domain by its MX records.
func newRouter(routes map[string]string) provider.Router {
	return router{static: provider.StaticRouter(routes), mx: &provider.MXRouter{}}
}

// liveRouter is the router of the current [routes], replaced on reload.
type liveRouter struct {
	cur atomic.Pointer[provider.Router]
}

// set replaces the routes.
func (r *liveRouter) set(routes map[string]string) {
	rt := newRouter(routes)
	r.cur.Store(&rt)
}

// Route implements provider.Router.
func (r *liveRouter) Route(ctx context.Context, domain string) ([]string, error) {
	return (*r.cur.Load()).Route(ctx, domain)
}

// openStore opens the mailboxes of [storage]: the Maildirs, each with the
// quota of its account's line in users (read again at every delivery, so
// that a reload applies from the next one) or else [limits]
// mailbox-quota; or Dovecot's LMTP service.
func openStore(cfg *Config, users *fileAccounts, log *slog.Logger) (mailbox.Store, error) {
	s := cfg.Storage
	if s.Mailbox != "" && s.Mailbox != DefaultMailbox {
		network, address, err := lmtpAddress(s.Mailbox)
		if err != nil {
			return nil, err
		}
		return lmtp.New(&lmtp.Options{Network: network, Address: address, LocalName: cfg.Listen.Hostname, Delimiter: s.LMTPDelimiter}), nil
	}
	store, err := mailbox.OpenMaildir(s.Maildir, &mailbox.MaildirOptions{
		StaleLock: s.MaildirStaleLock, Quota: cfg.Limits.MailboxQuota, UserQuota: users.Quota, Logger: log,
		Once: true, // a deposit redone after a crash, or a receipt received twice, is stored once
	})
	if err != nil {
		return nil, fmt.Errorf("maildir %s: %w", s.Maildir, err)
	}
	return store, nil
}

// checkQuotas refuses a quota= in the accounts file when the mailboxes
// are Dovecot's, over LMTP: the quota is Dovecot's then.
func checkQuotas(cfg *Config, users *fileAccounts) error {
	if cfg.Storage.Mailbox == "" || cfg.Storage.Mailbox == DefaultMailbox {
		return nil
	}
	if u := users.withQuota(); u != "" {
		return fmt.Errorf("%s: %s: quota=: with [storage] mailbox = lmtp:..., set the quota in Dovecot", cfg.Accounts.File, u)
	}
	return nil
}

// setOrdinary sets the provider-wide default of [accounts] ordinary.
func (n *node) setOrdinary(v string) {
	m, err := parseOrdinary(v)
	if err != nil {
		m = ordinaryAccept // ParseConfig checked it
	}
	n.ordinary.Store(int32(m))
}

// refuseOrdinary is the provider's RefuseOrdinary: the account's option,
// else the configuration's default.
func (n *node) refuseOrdinary(user string) bool {
	m := n.users.Ordinary(user)
	if m == ordinaryDefault {
		m = ordinaryMode(n.ordinary.Load())
	}
	return m == ordinaryRefuse
}

// router is a static table of routes over MX look-ups.
type router struct {
	static provider.StaticRouter
	mx     *provider.MXRouter
}

// Route implements provider.Router.
func (r router) Route(ctx context.Context, domain string) ([]string, error) {
	if _, ok := r.static[strings.ToLower(domain)]; ok {
		return r.static.Route(ctx, domain)
	}
	return r.mx.Route(ctx, domain)
}

// openIndex makes the mirror of the configured index and loads it once:
// a provider does not start without an index.
func openIndex(ctx context.Context, x IndexConfig, log *slog.Logger) (*index.Mirror, error) {
	src, err := indexSource(x)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := &index.MirrorOptions{Interval: x.Refresh, Logger: log}
	opts.OnRefresh = func(st index.Status) {
		if err := saveIndexState(x.State, st); err != nil {
			log.Error("index: state not saved", "file", x.State, "err", err)
		}
	}
	m := index.NewMirror(src, opts)
	if err := m.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	return m, nil
}
