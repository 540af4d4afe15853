package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/pecsdk/pec/provider/mailbox"
)

const (
	sessionCookie = "pec_session"
	loginCookie   = "pec_login" // pre-session token, bound to the login form
	tokenLife     = 2 * time.Minute
)

// session is one logged-in holder.
type session struct {
	user    string
	csrf    string
	created time.Time
	seen    time.Time
}

// loginToken is a one-time link issued by LoginToken.
type loginToken struct {
	user    string
	expires time.Time
}

// random returns 32 random bytes, base64url-encoded.
func random() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func equal(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}

// current returns the request's live session, or nil.
func (s *Server) current(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessions[c.Value]
	if ss == nil {
		return nil
	}
	if now.Sub(ss.seen) > s.opts.IdleTimeout || now.Sub(ss.created) > s.opts.MaxSessionAge {
		delete(s.sessions, c.Value)
		return nil
	}
	ss.seen = now
	return ss
}

// open starts a session for user and sets its cookie.
func (s *Server) open(w http.ResponseWriter, r *http.Request, user string) {
	now := s.opts.Now()
	id := random()
	s.mu.Lock()
	for k, ss := range s.sessions { // drop the expired ones
		if now.Sub(ss.seen) > s.opts.IdleTimeout || now.Sub(ss.created) > s.opts.MaxSessionAge {
			delete(s.sessions, k)
		}
	}
	s.sessions[id] = &session{user: user, csrf: random(), created: now, seen: now}
	s.mu.Unlock()
	s.setCookie(w, r, sessionCookie, id, 0)
	s.setCookie(w, r, loginCookie, "", -1)
}

// authed wraps a page that needs a session: without one it redirects to
// the login form.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss := s.current(r)
		if ss == nil {
			http.Redirect(w, r, "/login"+langQuery(r), http.StatusSeeOther)
			return
		}
		h(w, r, ss)
	}
}

// loginPage is the model of the login form.
type loginPage struct {
	page
	User  string
	Error bool
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	if s.current(r) != nil {
		http.Redirect(w, r, "/"+langQuery(r), http.StatusSeeOther)
		return
	}
	s.showLogin(w, r, http.StatusOK, "", false)
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, status int, user string, failed bool) {
	tok := random()
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) == len(tok) {
		tok = c.Value // keep it, so that a form open in another tab stays valid
	}
	s.setCookie(w, r, loginCookie, tok, int(time.Hour/time.Second))
	s.render(w, status, "login.html", &loginPage{page: s.page(r, tok, ""), User: user, Error: failed})
}

// forbidden answers a form whose token is missing or wrong.
func (s *Server) forbidden(w http.ResponseWriter, r *http.Request) {
	s.opts.Logger.Warn("web: form refused: missing or wrong token", "path", r.URL.Path, "remote", r.RemoteAddr)
	http.Error(w, "403 forbidden: form token missing or wrong", http.StatusForbidden)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || !equal(c.Value, r.PostForm.Get("csrf")) {
		s.forbidden(w, r)
		return
	}
	user, pass := strings.TrimSpace(r.PostForm.Get("user")), r.PostForm.Get("password")
	if user == "" || len(user) > 320 {
		s.showLogin(w, r, http.StatusUnauthorized, "", true)
		return
	}
	// The wait comes before the check, the same whatever the password.
	delay, err := s.opts.Throttle.Wait(r.Context(), user, host(r))
	if errors.Is(err, mailbox.ErrThrottled) {
		s.opts.Logger.Warn("web: login refused: too many attempts", "user", user, "remote", r.RemoteAddr)
		w.Header().Set("Retry-After", "60")
		http.Error(w, "429 too many login attempts, try again later", http.StatusTooManyRequests)
		return
	}
	if err == nil {
		err = s.auth.Authenticate(r.Context(), user, pass)
	}
	if err != nil {
		if !errors.Is(err, mailbox.ErrAuth) {
			s.opts.Logger.Error("web: authenticate", "user", user, "err", err)
		} else {
			n := s.opts.Throttle.Fail(user, host(r))
			s.opts.Logger.Warn("web: login failed", "user", user, "remote", r.RemoteAddr, "failures", n, "delay", delay)
		}
		s.showLogin(w, r, http.StatusUnauthorized, user, true)
		return
	}
	s.opts.Throttle.Succeed(user)
	s.opts.Logger.Info("web: login", "user", user, "remote", r.RemoteAddr)
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.mu.Lock()
		delete(s.sessions, c.Value) // the session this browser had, if any
		s.mu.Unlock()
	}
	s.open(w, r, user)
	http.Redirect(w, r, "/"+langQuery(r), http.StatusSeeOther)
}

func host(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ss := s.current(r)
	if ss == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if err := r.ParseForm(); err != nil || !equal(ss.csrf, r.PostForm.Get("csrf")) {
		s.forbidden(w, r)
		return
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.mu.Lock()
		delete(s.sessions, c.Value)
		s.mu.Unlock()
	}
	s.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/login"+langQuery(r), http.StatusSeeOther)
}

// LoginToken returns a one-time path, "/login/token/<token>", that opens a
// session for user without the password when visited within two minutes,
// then redirects to next (a path of this server; "" is the message list).
// It is for operators and for tests that drive a browser, and needs
// Options.LoginTokens (else ErrLoginTokens). The user is not checked: give
// only names of existing mailboxes.
func (s *Server) LoginToken(user, next string) (string, error) {
	if !s.opts.LoginTokens {
		return "", ErrLoginTokens
	}
	tok := random()
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", ErrClosed
	}
	for k, t := range s.tokens {
		if now.After(t.expires) {
			delete(s.tokens, k)
		}
	}
	s.tokens[tok] = loginToken{user: user, expires: now.Add(tokenLife)}
	p := "/login/token/" + tok
	if local(next) {
		p += "?next=" + urlEscape(next)
	}
	return p, nil
}

// local reports whether p is a path of this server, not another origin.
func local(p string) bool {
	return strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") && !strings.ContainsAny(p, "\\\r\n")
}

func (s *Server) loginWithToken(w http.ResponseWriter, r *http.Request) {
	if !s.opts.LoginTokens {
		http.NotFound(w, r)
		return
	}
	tok := r.PathValue("token")
	s.mu.Lock()
	t, ok := s.tokens[tok]
	delete(s.tokens, tok)
	s.mu.Unlock()
	if !ok || s.opts.Now().After(t.expires) {
		http.Error(w, "403 forbidden: login link unknown, used or expired", http.StatusForbidden)
		return
	}
	s.opts.Logger.Info("web: login by token", "user", t.user, "remote", r.RemoteAddr)
	s.open(w, r, t.user)
	next := r.URL.Query().Get("next")
	if !local(next) {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}
