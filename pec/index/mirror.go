package index

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of a Mirror.
const (
	// DefaultInterval is how often a Mirror refreshes: daily, as PEC.md
	// §13.1 requires of the local copy.
	DefaultInterval = 24 * time.Hour
	// DefaultRetry is how soon a Mirror tries again after a failed
	// refresh.
	DefaultRetry = time.Hour
)

// MirrorOptions configures a Mirror. A nil *MirrorOptions and zero fields
// select the defaults.
type MirrorOptions struct {
	// Interval is the time between refreshes; 0 means DefaultInterval.
	Interval time.Duration
	// Retry is the time before another attempt after a failure; 0 means
	// DefaultRetry (at most Interval).
	Retry time.Duration
	// Timeout bounds one refresh started by Run; 0 means one minute.
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// After is the timer Run waits on; nil means time.After. Tests give a
	// channel they control.
	After func(time.Duration) <-chan time.Time
	// OnRefresh, when set, is called after every attempt with the new
	// status (Status.Err set when the attempt failed).
	OnRefresh func(Status)
	// Logger receives a record of every refresh; nil is silent.
	Logger *slog.Logger
}

// Status describes the refreshes of a Mirror.
type Status struct {
	Loaded    time.Time // when the snapshot served was loaded; zero before the first success
	Attempted time.Time // when the last refresh was attempted
	Err       error     // the error of the last attempt; nil when it succeeded
	Failures  int       // consecutive failed attempts
	Entries   int       // entries of the snapshot served
	// SigningTime is the signing time of the signed index served (zero
	// for an unsigned one): keep it across restarts and give it as
	// File.MinSigningTime, so that a restarted Mirror refuses an older
	// index too.
	SigningTime time.Time
}

// Mirror is the local copy of the index (PEC.md §13.1): it serves lookups
// from its last good snapshot, lock-free, and refreshes it from a Source
// on a schedule. A failed refresh keeps the last good snapshot, and is
// returned, logged, passed to OnRefresh and kept in Status. A signed
// index signed before the one served, or without a signing time when the
// one served has one, is such a failure (ErrRollback): an older index
// replayed would bring back domains and certificates removed since. Before the
// first good refresh, lookups find nothing and Authorize refuses with
// ErrNoSnapshot. A Mirror is safe for concurrent use.
type Mirror struct {
	src  Source
	opts MirrorOptions

	cur atomic.Pointer[Snapshot]

	refreshing chan struct{} // one slot: serialises refreshes, a waiter's ctx still counts
	mu         sync.Mutex    // guards status
	status     Status
}

var _ Index = (*Mirror)(nil)

// NewMirror returns a Mirror of src; call Refresh or Run to load it.
func NewMirror(src Source, opts *MirrorOptions) *Mirror {
	m := &Mirror{src: src, refreshing: make(chan struct{}, 1)}
	if opts != nil {
		m.opts = *opts
	}
	if m.opts.Interval <= 0 {
		m.opts.Interval = DefaultInterval
	}
	if m.opts.Retry <= 0 {
		m.opts.Retry = DefaultRetry
	}
	m.opts.Retry = min(m.opts.Retry, m.opts.Interval)
	if m.opts.Timeout <= 0 {
		m.opts.Timeout = time.Minute
	}
	if m.opts.Now == nil {
		m.opts.Now = time.Now
	}
	if m.opts.After == nil {
		m.opts.After = time.After
	}
	return m
}

// Refresh loads the source once. On success the new snapshot replaces the
// old one for every later lookup; on failure the old one stays and the
// error is returned. A snapshot signed before the one served is a failure:
// a *SignedLDIFError matching ErrRollback and ErrUntrustedLDIF.
func (m *Mirror) Refresh(ctx context.Context) error {
	select {
	case m.refreshing <- struct{}{}:
		defer func() { <-m.refreshing }()
	case <-ctx.Done():
		return ctx.Err()
	}
	start := m.opts.Now()
	s, err := m.src.Load(ctx)
	if err == nil && s == nil {
		err = fmt.Errorf("%w: the source returned no snapshot", ErrDirectory)
	}
	if err == nil {
		err = rollback(m.cur.Load(), s)
	}
	m.mu.Lock()
	m.status.Attempted = start
	m.status.Err = err
	if err != nil {
		m.status.Failures++
	} else {
		m.cur.Store(s)
		m.status.Loaded = start
		m.status.Failures = 0
		m.status.Entries = s.Len()
		m.status.SigningTime = s.signingTime
	}
	st := m.status
	m.mu.Unlock()
	if l := m.opts.Logger; l != nil {
		if err != nil {
			l.Warn("index refresh failed; serving the last good snapshot",
				"error", err, "failures", st.Failures, "loaded", st.Loaded)
		} else {
			l.Info("index refreshed", "entries", st.Entries)
		}
	}
	if m.opts.OnRefresh != nil {
		m.opts.OnRefresh(st)
	}
	return err
}

// rollback refuses next when it was signed before cur, the snapshot
// served, or carries no signing time while cur does. Refreshes are
// serialised, so cur cannot change meanwhile.
func rollback(cur, next *Snapshot) error {
	if cur == nil || cur.signingTime.IsZero() {
		return nil
	}
	e := &SignedLDIFError{Err: ErrRollback, Signer: next.publisher, SigningTime: next.signingTime}
	switch {
	case next.signingTime.IsZero():
		e.Detail = "no signing time, and the index in service was signed at " + stamp(cur.signingTime)
	case next.signingTime.Before(cur.signingTime):
		e.Detail = "signed at " + stamp(next.signingTime) + ", before the index in service, signed at " + stamp(cur.signingTime)
	default:
		return nil
	}
	return e
}

// Run refreshes at once when nothing is loaded, then every Interval (or
// Retry after a failure), until ctx ends; it returns ctx's error.
func (m *Mirror) Run(ctx context.Context) error {
	var err error
	if m.cur.Load() == nil {
		err = m.refresh(ctx)
	}
	for {
		wait := m.opts.Interval
		if err != nil {
			wait = m.opts.Retry
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-m.opts.After(wait):
			err = m.refresh(ctx)
		}
	}
}

func (m *Mirror) refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	return m.Refresh(ctx)
}

// Snapshot returns the snapshot served, nil before the first success.
func (m *Mirror) Snapshot() *Snapshot { return m.cur.Load() }

// Status returns the state of the refreshes.
func (m *Mirror) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status
}

// LastError returns the error of the last refresh, nil when it succeeded.
func (m *Mirror) LastError() error { return m.Status().Err }

// Domain looks domain up in the snapshot served.
func (m *Mirror) Domain(domain string) (*Provider, bool) {
	if s := m.cur.Load(); s != nil {
		return s.Domain(domain)
	}
	return nil, false
}

// Signer looks cert up in the snapshot served.
func (m *Mirror) Signer(cert *x509.Certificate) (*Provider, bool) {
	if s := m.cur.Load(); s != nil {
		return s.Signer(cert)
	}
	return nil, false
}

// Provider looks the provider named name up in the snapshot served.
func (m *Mirror) Provider(name string) (*Provider, bool) {
	if s := m.cur.Load(); s != nil {
		return s.Provider(name)
	}
	return nil, false
}

// Pool returns the certificates of the snapshot served (an empty pool
// before the first success).
func (m *Mirror) Pool() *x509.CertPool {
	if s := m.cur.Load(); s != nil {
		return s.Pool()
	}
	return x509.NewCertPool()
}

// Authorize implements smime.Authority with the snapshot served.
func (m *Mirror) Authorize(signer *x509.Certificate, from string, at time.Time) error {
	if s := m.cur.Load(); s != nil {
		return s.Authorize(signer, from, at)
	}
	return &TrustError{Err: ErrNoSnapshot, Detail: "the index has not been loaded"}
}
