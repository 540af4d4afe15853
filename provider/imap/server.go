package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/pecsdk/pec/provider/mailbox"
)

// ErrServerClosed is returned by Serve and ServeTLS after Close or
// Shutdown.
var ErrServerClosed = errors.New("imap: server closed")

// Options configures a Server. A nil *Options, or a zero field, means the
// default.
type Options struct {
	// TLSConfig is used by ServeTLS and for STARTTLS on plain connections.
	TLSConfig *tls.Config
	// InsecureAuth allows LOGIN and AUTHENTICATE before TLS. Default
	// refused.
	InsecureAuth bool
	// ReadTimeout bounds every wait for the client, IDLE included.
	// Default 30 minutes (RFC 3501 §5.4's autologout floor).
	ReadTimeout time.Duration
	// WriteTimeout bounds every write to the client. Default 5 minutes.
	WriteTimeout time.Duration
	// IdlePoll is how often a session in IDLE looks for changes made by
	// other processes (Dovecot, another provider process); changes made
	// through the same store are told at once. Default 2 seconds.
	IdlePoll time.Duration
	// MaxAppendSize bounds a message stored with APPEND, in bytes.
	// Default 100 MiB; at most 4 GiB - 1.
	MaxAppendSize int64
	// MaxConnections bounds the sessions served at once; past it a new
	// connection is answered BYE. Default 10,000.
	MaxConnections int
	// MaxAuthFailures closes a connection after this many failed logins.
	// Default 5.
	MaxAuthFailures int
	// Throttle slows down password guessing, per user and per client
	// address: after failures every attempt waits before its answer, right
	// password or not. Default: a Throttle of its own; share one between
	// the servers of a provider.
	Throttle *mailbox.Throttle
	// Logger receives sessions, failed logins and errors. Default silent.
	Logger *slog.Logger
	// DebugWriter receives the raw protocol, credentials included.
	DebugWriter io.Writer
}

// Server is an IMAP server for the mailboxes of a store.
type Server struct {
	store mailbox.Store
	auth  mailbox.Authenticator
	opts  Options
	imap  *imapserver.Server // plain connections, STARTTLS
	// imapTLS serves the connections of ServeTLS, through a wire: it sees
	// no *tls.Conn, hence InsecureAuth (the connection is TLS) and no
	// STARTTLS, as it would for one.
	imapTLS *imapserver.Server

	ctx    context.Context // canceled by Close: ends every wait of a session
	cancel context.CancelFunc

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	closed    bool
	sessions  sync.WaitGroup // one per imapserver session, for Shutdown
	active    atomic.Int64   // sessions now
	envelopes envCache       // what FETCH ENVELOPE has read
}

// New returns a server for the mailboxes of store, whose users' passwords
// auth checks.
func New(store mailbox.Store, auth mailbox.Authenticator, opts *Options) *Server {
	s := &Server{store: store, auth: auth, listeners: map[net.Listener]struct{}{}}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.ReadTimeout <= 0 {
		s.opts.ReadTimeout = 30 * time.Minute
	}
	if s.opts.WriteTimeout <= 0 {
		s.opts.WriteTimeout = 5 * time.Minute
	}
	if s.opts.IdlePoll <= 0 {
		s.opts.IdlePoll = 2 * time.Second
	}
	if s.opts.MaxAppendSize <= 0 {
		s.opts.MaxAppendSize = 100 << 20
	}
	s.opts.MaxAppendSize = min(s.opts.MaxAppendSize, 1<<32-1)
	if s.opts.MaxConnections <= 0 {
		s.opts.MaxConnections = 10_000
	}
	if s.opts.MaxAuthFailures <= 0 {
		s.opts.MaxAuthFailures = 5
	}
	if s.opts.Throttle == nil {
		s.opts.Throttle = &mailbox.Throttle{}
	}
	if s.opts.Logger == nil {
		s.opts.Logger = slog.New(slog.DiscardHandler)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	so := imapserver.Options{
		NewSession:   s.newSession,
		Caps:         goimap.CapSet{goimap.CapIMAP4rev1: {}, goimap.CapUIDPlus: {}},
		Logger:       logAdapter{s.opts.Logger},
		TLSConfig:    s.opts.TLSConfig,
		InsecureAuth: s.opts.InsecureAuth,
		DebugWriter:  s.opts.DebugWriter,
	}
	s.imap = imapserver.New(&so)
	so.TLSConfig, so.InsecureAuth = nil, true
	s.imapTLS = imapserver.New(&so)
	return s
}

// logAdapter hands imapserver's messages to the logger.
type logAdapter struct{ l *slog.Logger }

func (a logAdapter) Printf(format string, args ...any) {
	msg := "imap: " + fmt.Sprintf(format, args...)
	if strings.Contains(msg, "panic") {
		a.l.Error(msg) // a bug: recovered, the connection closed
		return
	}
	a.l.Debug(msg)
}

// Serve accepts connections on ln: plain ones (with STARTTLS if
// Options.TLSConfig is set), or TLS ones from a tls.Listener.
func (s *Server) Serve(ln net.Listener) error {
	return s.serve(&listener{Listener: ln, s: s}, s.imap)
}

// ServeTLS accepts connections on ln, a plain listener, and speaks TLS on
// them from the first byte with Options.TLSConfig (IMAPS).
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.opts.TLSConfig == nil {
		return errors.New("imap: ServeTLS without Options.TLSConfig")
	}
	return s.serve(&listener{Listener: ln, s: s, tls: s.opts.TLSConfig}, s.imapTLS)
}

func (s *Server) serve(ln *listener, is *imapserver.Server) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	err := is.Serve(ln)
	s.mu.Lock()
	delete(s.listeners, ln)
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrServerClosed
	}
	return err
}

// Close stops the listeners and ends every session at once.
func (s *Server) Close() error {
	err := s.stopListening()
	s.cancel()
	for _, is := range []*imapserver.Server{s.imap, s.imapTLS} {
		if cerr := is.Close(); cerr != nil && err == nil && !errors.Is(cerr, net.ErrClosed) {
			err = cerr
		}
	}
	return err
}

// Shutdown stops the listeners and waits for the sessions to end (at
// LOGOUT, or at their timeout), or for ctx to be done, in which case it
// closes them as Close does and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.stopListening()
	done := make(chan struct{})
	go func() {
		s.sessions.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.Close()
		return err
	case <-ctx.Done():
		s.Close()
		return ctx.Err()
	}
}

func (s *Server) stopListening() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var err error
	for ln := range s.listeners {
		if cerr := ln.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

// listener wraps accepted connections in deadline-bounding ones, and in
// TLS for ServeTLS.
type listener struct {
	net.Listener
	s   *Server
	tls *tls.Config
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if _, ok := c.(*tls.Conn); ok {
		// imapserver must see a *tls.Conn, so it is left as it is; a
		// deadline still bounds its handshake, done at the greeting.
		c.SetDeadline(time.Now().Add(l.s.opts.ReadTimeout))
		return c, nil
	}
	dc := &deadlineConn{Conn: c, read: l.s.opts.ReadTimeout, write: l.s.opts.WriteTimeout}
	// Bound the TLS handshake and the greeting, before imapserver sets
	// deadlines of its own.
	dc.SetDeadline(time.Time{})
	if l.tls != nil {
		return newWire(tls.Server(dc, l.tls), l.s), nil
	}
	return dc, nil
}

// deadlineConn keeps every deadline set on it within its timeouts from
// now, so that no wait of imapserver exceeds Options.ReadTimeout or
// WriteTimeout.
type deadlineConn struct {
	net.Conn
	read, write time.Duration
}

func bound(t time.Time, d time.Duration) time.Time {
	limit := time.Now().Add(d)
	if t.IsZero() || t.After(limit) {
		return limit
	}
	return t
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	return c.Conn.SetReadDeadline(bound(t, c.read))
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	return c.Conn.SetWriteDeadline(bound(t, c.write))
}
