package pop3

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/pecsdk/pec/provider/mailbox"
)

// ErrServerClosed is returned by Serve after Close or Shutdown.
var ErrServerClosed = errors.New("pop3: server closed")

// Options configures a Server. A nil *Options, or a zero field, means the
// default.
type Options struct {
	// TLSConfig enables STLS on plain connections. Connections accepted
	// from a tls.Listener are already encrypted (POP3S).
	TLSConfig *tls.Config
	// InsecureAuth allows USER/PASS and AUTH before TLS. Default refused.
	InsecureAuth bool
	// ReadTimeout bounds the wait for each command line. Default 10
	// minutes, the autologout floor of RFC 1939 §3.
	ReadTimeout time.Duration
	// WriteTimeout bounds each response, a whole message for RETR.
	// Default 5 minutes.
	WriteTimeout time.Duration
	// MaxLineLength bounds a command line, CRLF included; a longer line
	// ends the session. Default 1,024 (RFC 2449 §4 asks clients for 255).
	MaxLineLength int
	// MaxConnections bounds the sessions served at once; past it a new
	// connection is told so and closed. Default 10,000.
	MaxConnections int
	// MaxAuthFailures ends a session after this many failed logins.
	// Default 5.
	MaxAuthFailures int
	// Throttle slows down password guessing, per user and per client
	// address: after failures every attempt waits before its answer, right
	// password or not. Default: a Throttle of its own; share one between
	// the servers of a provider.
	Throttle *mailbox.Throttle
	// Logger receives sessions, failed logins and errors. Default silent.
	Logger *slog.Logger
}

// Server is a POP3 server serving the INBOX of each user of a store.
type Server struct {
	store mailbox.Store
	auth  mailbox.Authenticator
	opts  Options

	ctx    context.Context // canceled by Close: ends every wait of a session
	cancel context.CancelFunc

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	closed    bool
	sessions  sync.WaitGroup
}

// New returns a server for the mailboxes of store, whose users' passwords
// auth checks.
func New(store mailbox.Store, auth mailbox.Authenticator, opts *Options) *Server {
	s := &Server{store: store, auth: auth, listeners: map[net.Listener]struct{}{}, conns: map[net.Conn]struct{}{}}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.ReadTimeout <= 0 {
		s.opts.ReadTimeout = 10 * time.Minute
	}
	if s.opts.WriteTimeout <= 0 {
		s.opts.WriteTimeout = 5 * time.Minute
	}
	if s.opts.MaxLineLength <= 0 {
		s.opts.MaxLineLength = 1024
	}
	if s.opts.MaxLineLength < 64 {
		s.opts.MaxLineLength = 64
	}
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
	return s
}

// Serve accepts connections on ln and serves each in its own goroutine,
// until ln fails or the server is closed. It returns ErrServerClosed
// after Close or Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.opts.Logger.Warn("pop3: accept", "err", err, "retry", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return ErrServerClosed
		}
		if len(s.conns) >= s.opts.MaxConnections {
			s.mu.Unlock()
			s.opts.Logger.Warn("pop3: too many connections", "remote", c.RemoteAddr().String())
			go refuse(c, s.opts.WriteTimeout)
			continue
		}
		s.conns[c] = struct{}{}
		s.sessions.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.sessions.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
			newSession(s, c).serve()
		}()
	}
}

// refuse tells a connection past MaxConnections to come back later. A
// TLS connection is closed without a word: its handshake would cost what
// the bound saves.
func refuse(c net.Conn, timeout time.Duration) {
	defer c.Close()
	if _, ok := c.(*tls.Conn); ok {
		return
	}
	c.SetWriteDeadline(time.Now().Add(timeout))
	c.Write([]byte("-ERR [SYS/TEMP] too many connections, try again later\r\n"))
}

// Close stops the listeners and ends every session at once; deletions of
// sessions that did not reach QUIT are not applied.
func (s *Server) Close() error {
	err := s.stopListening()
	s.cancel()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.sessions.Wait()
	return err
}

// Shutdown stops the listeners and waits for the sessions to end (at QUIT,
// or at their read timeout), or for ctx to be done, in which case it
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
		s.cancel()
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
