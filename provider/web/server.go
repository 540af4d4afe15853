package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/provider/mailbox"
)

//go:embed assets
var assets embed.FS

// Options configure a Server. A nil *Options, or a zero field, means the
// default.
type Options struct {
	// Verify says how to judge the receipts in the mailboxes: the provider
	// index as Authority, verifying live. Without an Authority no receipt
	// counts as evidence, and every recipient stays "sent".
	Verify *smime.VerifyOptions
	// Throttle slows down failed logins; share the provider's one.
	// Default: a Throttle of its own.
	Throttle *mailbox.Throttle
	// IdleTimeout ends a session unused for this long. Default 30 minutes.
	IdleTimeout time.Duration
	// MaxSessionAge ends a session this long after login. Default 12 hours.
	MaxSessionAge time.Duration
	// LoginTokens enables LoginToken: one-time links that open a session
	// without the password, for operators and tests. Default off.
	LoginTokens bool
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives logins, failures and errors. Default silent.
	Logger *slog.Logger
}

// Server is the web view of the mailboxes of a store. It is an
// http.Handler; Serve serves it on a listener.
type Server struct {
	store mailbox.Store
	auth  mailbox.Authenticator
	opts  Options
	tmpl  *template.Template
	mux   *http.ServeMux
	http  *http.Server

	mu       sync.Mutex
	sessions map[string]*session
	tokens   map[string]loginToken
	views    map[string]*view
	closed   bool
}

// New returns a server for the mailboxes of store, whose holders'
// passwords auth checks.
func New(store mailbox.Store, auth mailbox.Authenticator, opts *Options) *Server {
	s := &Server{
		store: store, auth: auth,
		sessions: map[string]*session{}, tokens: map[string]loginToken{},
		views: map[string]*view{},
	}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Throttle == nil {
		s.opts.Throttle = &mailbox.Throttle{}
	}
	if s.opts.IdleTimeout <= 0 {
		s.opts.IdleTimeout = 30 * time.Minute
	}
	if s.opts.MaxSessionAge <= 0 {
		s.opts.MaxSessionAge = 12 * time.Hour
	}
	if s.opts.Now == nil {
		s.opts.Now = time.Now
	}
	if s.opts.Logger == nil {
		s.opts.Logger = slog.New(slog.DiscardHandler)
	}
	s.tmpl = template.Must(template.New("").Funcs(funcs).ParseFS(assets, "assets/*.html"))
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /style.css", s.style)
	s.mux.HandleFunc("GET /login", s.loginForm)
	s.mux.HandleFunc("POST /login", s.login)
	s.mux.HandleFunc("POST /logout", s.logout)
	s.mux.HandleFunc("GET /login/token/{token}", s.loginWithToken)
	s.mux.HandleFunc("GET /{$}", s.authed(s.messages))
	s.mux.HandleFunc("GET /sent/{uid}", s.authed(s.timeline))
	s.mux.HandleFunc("GET /receipt/{digest}", s.authed(s.receipt))
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	return s
}

// ServeHTTP serves one request, with the security headers on every
// response.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		http.Error(w, "closed", http.StatusServiceUnavailable)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Serve accepts connections on l and serves them until Close or Shutdown;
// it then returns ErrClosed.
func (s *Server) Serve(l net.Listener) error {
	err := s.http.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return ErrClosed
	}
	return err
}

// Shutdown stops accepting connections and waits, until ctx ends, for the
// requests being served to finish; the sessions are forgotten.
func (s *Server) Shutdown(ctx context.Context) error {
	s.forget()
	return s.http.Shutdown(ctx)
}

// Close stops the server at once; the sessions are forgotten.
func (s *Server) Close() error {
	s.forget()
	return s.http.Close()
}

func (s *Server) forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	clear(s.sessions)
	clear(s.tokens)
	clear(s.views)
}

func (s *Server) style(w http.ResponseWriter, r *http.Request) {
	b, err := assets.ReadFile("assets/style.css")
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Write(b)
}

// render writes the template name with data, or a 500.
func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	var b bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		s.opts.Logger.Error("web: render", "template", name, "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}
