package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/pecsdk/pec/provider/imap"
	"github.com/pecsdk/pec/provider/mailbox"
)

// plainMail is the ordinary (non-PEC) mail server of the demo network: an
// SMTP server that deposits what it receives for its accounts, and an
// IMAP server to read it. It is what an external recipient of a PEC
// message looks like (PEC.md §11.5): no signature, no receipt. Its users,
// authenticated, also send to other domains through it (plainrelay.go).
type plainMail struct {
	Domain    string
	SMTPAddr  string
	IMAPAddr  string
	store     mailbox.Store
	users     *fileAccounts
	routes    map[string]string // domain → SMTP server, for its users' mail to other domains
	clientTLS *tls.Config       // for STARTTLS to those servers
	log       *slog.Logger
	smtp      *smtp.Server
	imap      *imap.Server
	listeners []net.Listener
	wg        sync.WaitGroup

	// life is the server's lifetime: the deposits, relays and bounces of
	// its sessions are cut short when Close cancels it (stop).
	life context.Context
	stop context.CancelFunc
	// handlers counts the DATA phases under way, which Close waits for
	// (at most handlerWait); closing refuses new ones.
	hmu      sync.Mutex
	closing  bool
	handlers sync.WaitGroup
	// retryDelays are the waits between the attempts at a relay or a
	// deposit that failed for now; nil: defaultRetryDelays.
	retryDelays []time.Duration
}

// maxPlainMessage bounds a message the plain server takes.
const maxPlainMessage = 64 << 20

// startPlainMail serves SMTP (plain, STARTTLS offered) on smtpAddr and
// IMAP with implicit TLS on imapAddr, for the accounts of users at
// domain, with the mailboxes of the Maildir at root. Mail of its users to
// another domain goes to the server routes names for it, its certificate
// checked against anchors.
func startPlainMail(domain, smtpAddr, imapAddr, root string, users *fileAccounts, routes map[string]string, anchors *x509.CertPool, srvTLS *tls.Config, log *slog.Logger) (*plainMail, error) {
	m, err := newPlainMail(domain, smtpAddr, imapAddr, root, users, routes, anchors, srvTLS, log)
	if err != nil {
		return nil, err
	}
	m.serve()
	return m, nil
}

// newPlainMail is startPlainMail before serving: its listeners are open.
func newPlainMail(domain, smtpAddr, imapAddr, root string, users *fileAccounts, routes map[string]string, anchors *x509.CertPool, srvTLS *tls.Config, log *slog.Logger) (_ *plainMail, err error) {
	// The demo's own Maildir: a lock left by a crash is not worth waiting for.
	store, err := mailbox.OpenMaildir(root, &mailbox.MaildirOptions{StaleLock: 5 * time.Second, Logger: log})
	if err != nil {
		return nil, err
	}
	m := &plainMail{Domain: domain, store: store, users: users, routes: routes, log: log,
		clientTLS: &tls.Config{RootCAs: anchors, MinVersion: tls.VersionTLS12}}
	m.life, m.stop = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	sl, err := net.Listen("tcp", smtpAddr)
	if err != nil {
		return nil, err
	}
	m.listeners = append(m.listeners, sl)
	il, err := net.Listen("tcp", imapAddr)
	if err != nil {
		return nil, err
	}
	m.listeners = append(m.listeners, il)
	m.SMTPAddr, m.IMAPAddr = sl.Addr().String(), il.Addr().String()

	m.smtp = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &plainSession{m: m}, nil
	}))
	m.smtp.Domain = domain
	m.smtp.TLSConfig = srvTLS
	m.smtp.MaxMessageBytes = maxPlainMessage
	m.smtp.MaxRecipients = 100
	m.smtp.ReadTimeout = time.Minute
	m.smtp.WriteTimeout = time.Minute
	m.imap = imap.New(store, users, &imap.Options{TLSConfig: srvTLS, Logger: log})
	return m, nil
}

// serve serves SMTP and IMAP on the listeners until Close.
func (m *plainMail) serve() {
	m.wg.Add(2)
	go func() { defer m.wg.Done(); m.smtp.Serve(m.listeners[0]) }()
	go func() { defer m.wg.Done(); m.imap.ServeTLS(m.listeners[1]) }()
}

// Shutdown lets the sessions finish until ctx is done, then stops what is
// left as Close does.
func (m *plainMail) Shutdown(ctx context.Context) error {
	var errs []error
	if m.smtp != nil {
		if err := m.smtp.Shutdown(ctx); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	if m.imap != nil {
		errs = append(errs, m.imap.Shutdown(ctx))
	}
	m.Close()
	return errors.Join(errs...)
}

// handlerWait bounds how long Close waits for the DATA phases under way,
// whose deposits, relays and bounces it has cancelled.
const handlerWait = 10 * time.Second

// Close stops both servers at once: the sessions are cut off, and what
// their DATA phases were doing is cancelled and waited for.
func (m *plainMail) Close() error {
	m.hmu.Lock()
	m.closing = true
	m.hmu.Unlock()
	m.stop()
	if m.smtp != nil {
		m.smtp.Close()
	}
	if m.imap != nil {
		m.imap.Close()
	}
	for _, l := range m.listeners {
		l.Close()
	}
	m.wg.Wait()
	done := make(chan struct{})
	go func() { m.handlers.Wait(); close(done) }()
	t := time.NewTimer(handlerWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		m.log.Error("smtp: messages still being handed on after close", "waited", handlerWait)
	}
	return nil
}

// begin counts a DATA phase in, unless the server is closing.
func (m *plainMail) begin() bool {
	m.hmu.Lock()
	defer m.hmu.Unlock()
	if m.closing {
		return false
	}
	m.handlers.Add(1)
	return true
}

// plainSession is one SMTP session of the plain server: the message is
// deposited in the INBOX of each recipient that is one of its accounts,
// after a Received line; a user who authenticated may also send, as
// itself, to other domains.
type plainSession struct {
	m      *plainMail
	user   string // the authenticated user, "" when none
	from   string
	to     []string // the server's own accounts
	remote []string // recipients at other domains
}

// Reset implements smtp.Session.
func (s *plainSession) Reset() { s.from, s.to, s.remote = "", nil, nil }

// Logout implements smtp.Session.
func (s *plainSession) Logout() error { return nil }

// Mail implements smtp.Session: any sender, as an MX takes mail from
// anyone.
func (s *plainSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

// Rcpt implements smtp.Session: the domain's own accounts, and, for a
// user who authenticated and sends as itself, any address of a domain
// the server has a route for.
func (s *plainSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	user := normalUser(to)
	_, dom, _ := strings.Cut(user, "@")
	if dom != s.m.Domain {
		if s.user == "" || normalUser(s.from) != s.user {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "relay not permitted"}
		}
		if _, ok := s.m.routes[dom]; !ok {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 2}, Message: "no mail server known for " + dom}
		}
		s.remote = append(s.remote, user)
		return nil
	}
	if ok, _ := s.m.users.Exists(s.m.life, user); !ok {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.to = append(s.to, user)
	return nil
}

// Bounds of the steps of a DATA phase, each in its own context, all cut
// short when the server closes.
const (
	// depositTimeout bounds one deposit in a local INBOX.
	depositTimeout = 30 * time.Second
	// relayBudget bounds the relay of a message to the other domains,
	// its attempts and the waits between them (relayTimeout bounds one
	// attempt): the client waits for the reply to its DATA meanwhile,
	// up to 10 minutes by RFC 5321 §4.5.3.2.6.
	relayBudget = 2 * time.Minute
	// bounceTimeout bounds the deposit of a bounce.
	bounceTimeout = 30 * time.Second
)

var (
	errClosing      = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "server shutting down, try again later"}
	errDepositLater = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "cannot deposit now, try again later"}
	errRelayLater   = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 0}, Message: "cannot relay now, try again later"}
)

// Data implements smtp.Session. The message, after a Received line, is
// deposited in the INBOX of each local recipient first, then relayed to
// the other domains; what fails for now is tried again a few times
// (retryDelays). A recipient it could not reach in the end comes back to
// the sender as a bounce in its INBOX, written before the reply. The
// reply is 250 only when the message went somewhere: into an INBOX, to
// another server, or back to the sender as a bounce. Otherwise it is 451
// and the client keeps the message: when no local deposit can be written
// (then nothing is relayed, so that the client's next attempt makes no
// duplicates), when every relay failed for now and nothing was deposited,
// or when the bounce of what failed could not be written either.
func (s *plainSession) Data(r io.Reader) error {
	if !s.m.begin() {
		return errClosing
	}
	defer s.m.handlers.Done()
	b, err := io.ReadAll(io.LimitReader(r, maxPlainMessage+1))
	if err != nil {
		return err
	}
	if len(b) > maxPlainMessage {
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "message too big"}
	}
	arrived := time.Now()
	received := []byte(fmt.Sprintf("Received: from unknown by %s with ESMTP; %s\r\n", s.m.Domain, arrived.Format(time.RFC1123Z)))
	handed := false // the message went somewhere
	var failed []relayed
	if len(s.to) > 0 {
		deposit := func(rcpts []string) []relayed {
			out := make([]relayed, len(rcpts))
			for i, u := range rcpts {
				out[i] = relayed{u, s.m.deposit(u, received, b)}
			}
			return out
		}
		first := deposit(s.to)
		var left []string
		for _, res := range first {
			if res.err == nil {
				handed = true
			} else if permanent(res.err) {
				failed = append(failed, res)
			} else {
				left = append(left, res.rcpt)
			}
		}
		if !handed {
			s.m.log.Warn("deposit deferred", "from", s.from, "err", first[0].err)
			return errDepositLater
		}
		if len(left) > 0 {
			for _, res := range s.m.attempts(s.m.life, left, deposit) {
				if res.err != nil {
					failed = append(failed, res)
				}
			}
		}
	}
	if len(s.remote) > 0 {
		ctx, cancel := context.WithTimeout(s.m.life, relayBudget)
		results := s.m.attempts(ctx, s.remote, func(rcpts []string) []relayed {
			return s.m.relay(ctx, s.from, rcpts, received, b)
		})
		cancel()
		for _, res := range results {
			if res.err == nil {
				handed = true
			} else {
				failed = append(failed, res)
			}
		}
	}
	if len(failed) == 0 {
		return nil
	}
	if !handed && !slices.ContainsFunc(failed, func(f relayed) bool { return permanent(f.err) }) {
		s.m.log.Warn("relay deferred", "from", s.from, "err", failed[0].err)
		return errRelayLater
	}
	if s.user == "" {
		// Without authentication only local deposits can have failed,
		// and then another was written.
		s.m.log.Error("not deposited, no one to tell", "from", s.from, "recipients", len(failed), "err", failed[0].err)
		return nil
	}
	s.m.log.Info("bounce", "to", s.user, "recipients", len(failed), "err", failed[0].err)
	if err := s.m.deliverBounce(s.user, arrived, failed, b); err != nil {
		if !handed {
			s.m.log.Warn("bounce deferred", "to", s.user, "err", err)
			return errDepositLater
		}
		s.m.log.Error("bounce lost", "to", s.user, "err", err)
	}
	return nil
}

// deposit writes parts, one message, in user's INBOX.
func (m *plainMail) deposit(user string, parts ...[]byte) error {
	ctx, cancel := context.WithTimeout(m.life, depositTimeout)
	defer cancel()
	mb, err := m.store.Mailbox(ctx, user)
	if err != nil {
		return err
	}
	rs := make([]io.Reader, len(parts))
	for i, p := range parts {
		rs[i] = bytes.NewReader(p)
	}
	_, err = mb.Deliver(ctx, mailbox.Inbox, io.MultiReader(rs...), 0, time.Time{})
	return err
}
