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
}

// maxPlainMessage bounds a message the plain server takes.
const maxPlainMessage = 64 << 20

// startPlainMail serves SMTP (plain, STARTTLS offered) on smtpAddr and
// IMAP with implicit TLS on imapAddr, for the accounts of users at
// domain, with the mailboxes of the Maildir at root. Mail of its users to
// another domain goes to the server routes names for it, its certificate
// checked against anchors.
func startPlainMail(domain, smtpAddr, imapAddr, root string, users *fileAccounts, routes map[string]string, anchors *x509.CertPool, srvTLS *tls.Config, log *slog.Logger) (_ *plainMail, err error) {
	// The demo's own Maildir: a lock left by a crash is not worth waiting for.
	store, err := mailbox.OpenMaildir(root, &mailbox.MaildirOptions{StaleLock: 5 * time.Second, Logger: log})
	if err != nil {
		return nil, err
	}
	m := &plainMail{Domain: domain, store: store, users: users, routes: routes, log: log,
		clientTLS: &tls.Config{RootCAs: anchors, MinVersion: tls.VersionTLS12}}
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
	m.wg.Add(2)
	go func() { defer m.wg.Done(); m.smtp.Serve(sl) }()
	go func() { defer m.wg.Done(); m.imap.ServeTLS(il) }()
	return m, nil
}

// Shutdown lets the sessions finish until ctx is done.
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

// Close stops both servers at once.
func (m *plainMail) Close() error {
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
	return nil
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

// Rcpt implements smtp.Session: the domain's own accounts, and any
// address for a user who authenticated and sends as itself.
func (s *plainSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	user := normalUser(to)
	_, dom, _ := strings.Cut(user, "@")
	if dom != s.m.Domain {
		if s.user == "" || normalUser(s.from) != s.user {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "relay not permitted"}
		}
		s.remote = append(s.remote, user)
		return nil
	}
	if ok, _ := s.m.users.Exists(context.Background(), user); !ok {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.to = append(s.to, user)
	return nil
}

// Data implements smtp.Session: the message, with a Received line, in
// each local recipient's INBOX, and relayed to the other domains. A
// recipient another server refuses comes back to the sender as a bounce
// in its INBOX; when nothing could be handed on for now, the client is
// told to try again.
func (s *plainSession) Data(r io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(r, maxPlainMessage+1))
	if err != nil {
		return err
	}
	if len(b) > maxPlainMessage {
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "message too big"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*relayTimeout)
	defer cancel()
	received := fmt.Sprintf("Received: from unknown by %s with ESMTP; %s\r\n", s.m.Domain, time.Now().Format(time.RFC1123Z))
	var failed []relayed
	if len(s.remote) > 0 {
		msg := append([]byte(received), b...)
		results := s.relay(ctx, msg)
		again := 0
		for _, res := range results {
			if res.err != nil {
				failed = append(failed, res)
				if !permanent(res.err) {
					again++
				}
			}
		}
		if len(s.to) == 0 && again == len(results) {
			s.m.log.Warn("relay deferred", "from", s.from, "err", failed[0].err)
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 0}, Message: "cannot relay now, try again later"}
		}
	}
	for _, u := range s.to {
		mb, err := s.m.store.Mailbox(ctx, u)
		if err == nil {
			_, err = mb.Deliver(ctx, mailbox.Inbox, io.MultiReader(strings.NewReader(received), bytes.NewReader(b)), 0, time.Time{})
		}
		if err != nil {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "cannot deposit now, try later"}
		}
	}
	if len(failed) > 0 {
		s.m.log.Info("bounce", "to", s.user, "recipients", len(failed), "err", failed[0].err)
		if err := s.m.deliverBounce(ctx, s.user, failed, b); err != nil {
			s.m.log.Error("bounce lost", "to", s.user, "err", err)
		}
	}
	return nil
}
