package main

import (
	"bytes"
	"context"
	"crypto/tls"
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
// message looks like (PEC.md §11.5): no signature, no receipt.
type plainMail struct {
	Domain    string
	SMTPAddr  string
	IMAPAddr  string
	store     mailbox.Store
	users     *fileAccounts
	smtp      *smtp.Server
	imap      *imap.Server
	listeners []net.Listener
	wg        sync.WaitGroup
}

// maxPlainMessage bounds a message the plain server takes.
const maxPlainMessage = 64 << 20

// startPlainMail serves SMTP (plain, STARTTLS offered) on smtpAddr and
// IMAP with implicit TLS on imapAddr, for the accounts of users at
// domain, with the mailboxes of the Maildir at root.
func startPlainMail(domain, smtpAddr, imapAddr, root string, users *fileAccounts, srvTLS *tls.Config, log *slog.Logger) (_ *plainMail, err error) {
	// The demo's own Maildir: a lock left by a crash is not worth waiting for.
	store, err := mailbox.OpenMaildir(root, &mailbox.MaildirOptions{StaleLock: 5 * time.Second, Logger: log})
	if err != nil {
		return nil, err
	}
	m := &plainMail{Domain: domain, store: store, users: users}
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

// plainSession is one SMTP transaction of the plain server: the
// recipients must be its own accounts, and the message is deposited in
// each INBOX as received, after a Received line.
type plainSession struct {
	m    *plainMail
	from string
	to   []string
}

// Reset implements smtp.Session.
func (s *plainSession) Reset() { s.from, s.to = "", nil }

// Logout implements smtp.Session.
func (s *plainSession) Logout() error { return nil }

// Mail implements smtp.Session: any sender, as an MX takes mail from
// anyone.
func (s *plainSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

// Rcpt implements smtp.Session: the domain's own accounts only.
func (s *plainSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	user := normalUser(to)
	_, dom, _ := strings.Cut(user, "@")
	if dom != s.m.Domain {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "relay not permitted"}
	}
	if ok, _ := s.m.users.Exists(context.Background(), user); !ok {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.to = append(s.to, user)
	return nil
}

// Data implements smtp.Session: the message, with a Received line, in
// each recipient's INBOX.
func (s *plainSession) Data(r io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(r, maxPlainMessage+1))
	if err != nil {
		return err
	}
	if len(b) > maxPlainMessage {
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "message too big"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	received := fmt.Sprintf("Received: from unknown by %s with ESMTP; %s\r\n", s.m.Domain, time.Now().Format(time.RFC1123Z))
	for _, u := range s.to {
		mb, err := s.m.store.Mailbox(ctx, u)
		if err == nil {
			_, err = mb.Deliver(ctx, mailbox.Inbox, io.MultiReader(strings.NewReader(received), bytes.NewReader(b)), 0, time.Time{})
		}
		if err != nil {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "cannot deposit now, try later"}
		}
	}
	return nil
}
