package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/spool"
	"github.com/pecsdk/pec/trace"
)

// Provider is a running PEC provider: its submission and incoming SMTP
// servers and the workers that process what they put in the spool.
type Provider struct {
	cfg    Config
	submit *smtp.Server
	in     *smtp.Server

	ctx    context.Context // ends at Close: stops the workers
	cancel context.CancelFunc
	queue  chan string
	wg     sync.WaitGroup

	mu       sync.Mutex
	busy     map[string]bool // items a worker has
	again    map[string]bool // items kicked while busy
	missed   map[string]bool // items kicked while the queue was full
	closed   bool
	sealDone chan struct{}

	throttle *mailbox.Throttle // failed submission logins
	pool     pool              // outbound SMTP connections
	mem      *memBudget        // the bodies the DATA phases hold
}

// New checks cfg and starts the provider's workers, which first take up the
// work a previous run left in the spool. Serve the SMTP servers with
// ServeSubmission and ServeIncoming; stop with Shutdown or Close.
func New(cfg *Config) (*Provider, error) {
	if cfg == nil {
		return nil, fmt.Errorf("%w: nil Config", ErrConfig)
	}
	c := cfg.withDefaults()
	for _, m := range []struct {
		ok   bool
		name string
	}{
		{c.Name != "", "Name"}, {c.Address != "", "Address"}, {len(c.Domains) > 0, "Domains"},
		{c.Signer != nil, "Signer"}, {c.Index != nil, "Index"}, {c.Spool != nil, "Spool"},
		{c.Store != nil, "Store"}, {c.Users != nil, "Users"},
	} {
		if !m.ok {
			return nil, fmt.Errorf("%w: %s is required", ErrConfig, m.name)
		}
	}
	p := &Provider{
		cfg:    c,
		queue:  make(chan string, 1024),
		busy:   make(map[string]bool),
		again:  make(map[string]bool),
		missed: make(map[string]bool),

		throttle: c.Throttle,
		mem:      newMemBudget(c.DataMemory, c.MaxTotal),
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.pool.maxAge, p.pool.now = c.CommandTimeout/2, time.Now // sockets age in real time
	p.pool.maxIdle = min(max(c.Workers, defaultMaxIdle), 64)
	p.submit = p.newServer(&submitBackend{p: p})
	p.in = p.newServer(&incomingBackend{p: p})
	for range c.Workers {
		p.wg.Add(1)
		go p.worker()
	}
	p.wg.Add(1)
	go p.scheduler()
	if c.Trace != nil && c.SealInterval >= 0 {
		p.sealDone = make(chan struct{})
		s := &trace.Sealer{Store: c.Trace, Signer: c.Signer, Interval: c.SealInterval, Now: c.Now, Logger: c.Logger}
		go func() {
			defer close(p.sealDone)
			s.Run(p.ctx) //nolint:errcheck // logged by the Sealer
		}()
	}
	return p, nil
}

func (p *Provider) newServer(be smtp.Backend) *smtp.Server {
	s := smtp.NewServer(be)
	s.Domain = p.cfg.Hostname
	s.TLSConfig = p.cfg.TLS
	s.MaxMessageBytes = p.cfg.MaxTotal
	s.MaxRecipients = p.cfg.MaxRecipients
	s.ReadTimeout = p.cfg.CommandTimeout
	s.WriteTimeout = p.cfg.CommandTimeout
	s.ErrorLog = smtpLog{p.cfg.Logger}
	return s
}

// smtpLog passes go-smtp's error lines to the provider's logger.
type smtpLog struct{ l *slog.Logger }

func (s smtpLog) Printf(format string, v ...any) { s.l.Info("smtp", "msg", fmt.Sprintf(format, v...)) }
func (s smtpLog) Println(v ...any)               { s.l.Info("smtp", "msg", fmt.Sprint(v...)) }

// ServeSubmission serves the access point on l until Close or Shutdown:
// authenticated submission (PEC.md §11.1). Pass a tls.NewListener for
// implicit TLS (port 465); on a plain listener STARTTLS is offered and AUTH
// refused before it (port 587). A session lasts at most 10 ×
// Config.CommandTimeout from its accept.
func (p *Provider) ServeSubmission(l net.Listener) error { return p.submit.Serve(p.bound(l)) }

// ServeIncoming serves the incoming point on l until Close or Shutdown: the
// MX of the provider's domains (port 25), offering STARTTLS and accepting
// plaintext for ordinary mail (PEC.md §11.6). A session lasts at most 10 ×
// Config.CommandTimeout from its accept.
func (p *Provider) ServeIncoming(l net.Listener) error { return p.in.Serve(p.bound(l)) }

// Close stops the servers and the workers at once. What was acknowledged
// with 250 is in the spool: a Provider made again on the same spool finishes
// it. Close does not close the spool, the store or the trace.
func (p *Provider) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	err := errors.Join(p.submit.Close(), p.in.Close())
	p.cancel()
	p.wg.Wait()
	p.pool.close()
	if p.sealDone != nil {
		<-p.sealDone
	}
	return err
}

// Shutdown stops accepting connections, waits for the SMTP sessions under
// way and for the messages being processed, then stops the workers; work not
// started stays in the spool for the next start. When ctx ends first, it
// closes everything and returns ctx's error.
func (p *Provider) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	err := errors.Join(p.submit.Shutdown(ctx), p.in.Shutdown(ctx))
	done := make(chan struct{})
	go func() {
		for {
			p.mu.Lock()
			n := len(p.busy)
			p.mu.Unlock()
			if n == 0 || ctx.Err() != nil {
				close(done)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	<-done
	p.cancel()
	p.wg.Wait()
	p.pool.close()
	if p.sealDone != nil {
		<-p.sealDone
	}
	if ctx.Err() != nil {
		return errors.Join(err, ctx.Err())
	}
	return err
}

// kick asks a worker to process item id now.
func (p *Provider) kick(id string) {
	p.mu.Lock()
	if p.closed { // shutting down: the next start takes every item up
		p.mu.Unlock()
		return
	}
	if p.busy[id] {
		p.again[id] = true
		p.mu.Unlock()
		return
	}
	p.busy[id] = true
	p.mu.Unlock()
	select {
	case p.queue <- id:
	case <-p.ctx.Done():
	default:
		// the queue is full: the scheduler kicks it again at its next tick
		p.mu.Lock()
		delete(p.busy, id)
		p.missed[id] = true
		p.mu.Unlock()
	}
}

// poke hands a worker item st found due by the scheduler's poll, unless
// a worker has it already: the poll is no news about the item, and
// whatever that worker leaves due is found again at the next poll. A
// claim is not looked at while its owner is being processed: the owner
// releases it at its end (see claimItem).
func (p *Provider) poke(st *spool.State) {
	p.mu.Lock()
	busy := p.busy[st.Item.ID]
	if owner := st.Item.Meta[claimOwner]; owner != "" && p.busy[owner] {
		busy = true
	}
	p.mu.Unlock()
	if !busy {
		p.kick(st.Item.ID)
	}
}

// scheduler hands the workers the items that are due: all of them at the
// start (what a previous run left), then at each PollInterval.
func (p *Provider) scheduler() {
	defer p.wg.Done()
	t := time.NewTicker(p.cfg.PollInterval)
	defer t.Stop()
	var due *spool.PendingOptions // nil at the start: every item, for a notice applied before a crash may not have been followed
	for {
		sts, err := p.cfg.Spool.Pending(p.ctx, due)
		if err != nil && p.ctx.Err() == nil {
			p.cfg.Logger.Warn("spool pending", "err", err)
		}
		p.mu.Lock()
		missed := p.missed
		p.missed = make(map[string]bool)
		p.mu.Unlock()
		for _, st := range sts {
			delete(missed, st.Item.ID)
			p.poke(st)
		}
		for id := range missed {
			p.kick(id)
		}
		due = &spool.PendingOptions{Due: p.cfg.Now()}
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Provider) worker() {
	defer p.wg.Done()
	for {
		select {
		case <-p.ctx.Done():
			return
		case id := <-p.queue:
			for {
				p.process(id)
				p.mu.Lock()
				if p.again[id] && p.ctx.Err() == nil {
					delete(p.again, id)
					p.mu.Unlock()
					continue
				}
				delete(p.busy, id)
				delete(p.again, id)
				p.mu.Unlock()
				break
			}
		}
	}
}

// process takes one step forward with item id; whatever fails is scheduled
// again through the spool.
func (p *Provider) process(id string) {
	ctx := p.ctx
	st, err := p.cfg.Spool.Get(ctx, id)
	if err != nil {
		if !errors.Is(err, spool.ErrNotFound) && ctx.Err() == nil {
			p.cfg.Logger.Warn("spool get", "id", id, "err", err)
		}
		return
	}
	body, err := p.readBody(ctx, id)
	if errors.Is(err, spool.ErrNotFound) {
		return // completed since Get: a claim released by its owner
	}
	if err != nil {
		p.cfg.Logger.Error("spool body", "id", id, "err", err)
		return
	}
	w := &work{p: p, st: st, body: body, now: p.cfg.Now()}
	t0 := time.Now()
	defer func() { p.cfg.Logger.Debug("processed", "id", id, "role", st.Item.Role, "took", time.Since(t0)) }()
	switch st.Item.Role {
	case spool.RoleAccess:
		err = w.access(ctx)
	case spool.RoleIncoming:
		if st.Item.Meta[claimOwner] != "" {
			err = w.claimItem(ctx)
		} else {
			err = w.incoming(ctx)
		}
	default:
		err = fmt.Errorf("unknown role %q", st.Item.Role)
	}
	if err != nil && ctx.Err() == nil {
		p.cfg.Logger.Warn("processing", "id", id, "err", err)
		p.retry(ctx, st, "process", err)
	}
}

func (p *Provider) readBody(ctx context.Context, id string) ([]byte, error) {
	rc, err := p.cfg.Spool.Body(ctx, id)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readAll(rc)
}

// retry schedules step of the item again after a backoff that doubles with
// each failure, from RetryMin to RetryMax.
func (p *Provider) retry(ctx context.Context, st *spool.State, step string, cause error) {
	n := 0
	for _, r := range st.Retries {
		if r.Step == step {
			n = r.Attempts
		}
	}
	d := p.cfg.RetryMin
	for i := 0; i < n && d < p.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, p.cfg.RetryMax)
	if _, err := p.cfg.Spool.Retry(ctx, st.Item.ID, step, p.cfg.Now().Add(d), cause.Error()); err != nil && ctx.Err() == nil {
		p.cfg.Logger.Warn("spool retry", "id", st.Item.ID, "step", step, "err", err)
	}
}

// verifyOptions are the options of every verification: live, against the
// index (PEC.md §11.2).
func (p *Provider) verifyOptions() *smime.VerifyOptions {
	roots := p.cfg.Roots
	if roots == nil {
		roots = p.cfg.Index.Pool()
	}
	return &smime.VerifyOptions{Roots: roots, Authority: p.cfg.Index}
}

// ours reports whether addr is in one of the provider's domains.
func (p *Provider) ours(addr string) bool {
	d := domainOf(addr)
	for _, x := range p.domains() {
		if x == d {
			return true
		}
	}
	return false
}

func domainOf(addr string) string {
	addr = userName(addr)
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}

// itemID names a spool item from the parts that make it unique; the same
// parts give the same ID, so that a repeated Put is refused (ErrExists).
func itemID(prefix string, parts ...string) string {
	h := sha256.New()
	for _, s := range parts {
		io.WriteString(h, s)
		h.Write([]byte{0})
	}
	return prefix + "." + hex.EncodeToString(h.Sum(nil)[:20])
}

// accessID is the spool ID of the item of a sent message, by its PEC
// identifier: receipts coming back find it with it.
func accessID(pecID string) string { return itemID("a", strings.ToLower(pecID)) }
