package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/mail"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/spool"
	"github.com/pecsdk/pec/receipt"
)

// submitBackend is the access point's SMTP backend: authenticated
// submission (PEC.md §11.1).
type submitBackend struct{ p *Provider }

// NewSession implements smtp.Backend.
func (b *submitBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.p.mu.Lock()
	closed := b.p.closed
	b.p.mu.Unlock()
	if closed {
		return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "shutting down"}
	}
	s := &submitSession{p: b.p, conn: c}
	return s, nil
}

type submitSession struct {
	p     *Provider
	conn  *smtp.Conn
	user  string
	fails int
	from  string
	rcpt  []string
}

var (
	errAuthFirst = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	errNotSelf   = &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "sender address is not the authenticated mailbox"}
	errBadAddr   = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "bad address syntax"}
	// errNestedMail refuses a MAIL inside a transaction (RFC 5321 §4.1.4),
	// which would otherwise add to the recipients of the first.
	errNestedMail = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "nested MAIL command"}
	errSpool      = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "cannot store the message now, try again later"}
	errAuthLater  = &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "temporary authentication failure"}
)

// AuthMechanisms implements smtp.AuthSession.
func (s *submitSession) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

// Auth implements smtp.AuthSession: PLAIN (RFC 4616) and LOGIN, checked by
// Config.Users, slowed down for a user or client under attack
// (mailbox.Throttle) before the password is checked.
func (s *submitSession) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		ctx, name, peer := s.p.ctx, userName(user), s.conn.Conn().RemoteAddr().String()
		d, err := s.p.throttle.Wait(ctx, name, peer)
		if err == nil {
			err = s.p.cfg.Users.Authenticate(ctx, user, pass)
		} else if errors.Is(err, mailbox.ErrThrottled) {
			s.p.cfg.Logger.Warn("authentication refused: too many attempts", "user", name, "peer", peer)
			return errAuthLater
		}
		if err != nil {
			if !errors.Is(err, mailbox.ErrAuth) {
				s.p.cfg.Logger.Warn("authentication", "user", user, "err", err)
				return errAuthLater
			}
			s.fails++
			n := s.p.throttle.Fail(name, peer)
			s.p.cfg.Logger.Warn("authentication failed", "user", name, "peer", peer, "failures", n, "connection_failures", s.fails, "delay", d)
			return smtp.ErrAuthFailed
		}
		s.p.throttle.Succeed(name)
		s.user = name
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && userName(identity) != userName(user) {
				return smtp.ErrAuthFailed
			}
			return check(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// Mail implements smtp.Session: the authenticated user may send only as
// itself (PEC.md §11.1 item 1).
func (s *submitSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.user == "" {
		return errAuthFirst
	}
	if s.from != "" {
		return errNestedMail
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return errBadAddr
	}
	if userName(from) != s.user {
		return errNotSelf
	}
	s.from = from
	return nil
}

// Rcpt implements smtp.Session.
func (s *submitSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.from == "" {
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "MAIL first"}
	}
	if _, err := mail.ParseAddress(to); err != nil {
		return errBadAddr
	}
	s.rcpt = append(s.rcpt, to)
	return nil
}

// Data implements smtp.Session: the message is checked (PEC.md §11.1 items
// 2 to 10), and put in the spool with the outcome of the checks before the
// 250. What follows (the acceptance or non-acceptance, the envelope, the
// relays) is the workers'.
func (s *submitSession) Data(r io.Reader) error {
	if s.from == "" || len(s.rcpt) == 0 {
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "MAIL and RCPT first"}
	}
	p := s.p
	body, release, err := p.readData(r, p.cfg.CommandTimeout)
	if err != nil {
		return err
	}
	defer release()
	ctx := p.ctx
	now := p.cfg.Now()
	res, err := p.check(ctx, s.from, s.rcpt, body)
	if err != nil {
		p.cfg.Logger.Warn("virus scan", "err", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "content check unavailable, try again later"}
	}
	pecID := pec.NewMsgID(p.domains()[0], now)
	meta, err := res.meta(pecID)
	if err != nil {
		return errSpool
	}
	id := accessID(pecID)
	it := &spool.Item{
		ID: id, Role: spool.RoleAccess, From: s.from, To: s.rcpt, User: s.user,
		Peer: s.conn.Conn().RemoteAddr().String(), Helo: heloText(s.conn.Hostname()), Received: now, Meta: meta,
	}
	if err := p.certifiable(it, body); err != nil {
		p.cfg.Logger.Info("refused: cannot be certified", "user", s.user, "err", err)
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "the message cannot be certified: its headers are not valid text"}
	}
	if err := p.cfg.Spool.Put(ctx, it, bytes.NewReader(body)); err != nil {
		p.cfg.Logger.Error("spool put", "err", err)
		return errSpool
	}
	p.cfg.Logger.Info("accepted for processing", "id", pecID, "user", s.user, "rcpts", len(s.rcpt))
	p.kick(id)
	return nil
}

// Reset implements smtp.Session.
func (s *submitSession) Reset() { s.from, s.rcpt = "", nil }

// Logout implements smtp.Session.
func (s *submitSession) Logout() error { return nil }

// certifiable checks, before the 250, that the certification data the
// workers will take from the message can be written: a Subject that is not
// UTF-8, or decodes to control characters, would otherwise stop its
// processing for good, leaving the sender with neither an acceptance nor a
// non-acceptance.
func (p *Provider) certifiable(it *spool.Item, body []byte) error {
	w := &work{p: p, st: &spool.State{Item: *it}, body: body}
	_, env, err := w.submission()
	if err != nil {
		return err
	}
	if _, err := env.Marshal(); err != nil {
		return err
	}
	_, err = receipt.NewData(pec.KindAcceptance, env, p.cfg.Name, env.Time, nil, "").Marshal()
	return err
}

// meta is the outcome of the checks as kept in the spool item, so that the
// processing after a restart sees the same outcome (the index may have been
// refreshed since, PEC.md §10.1).
func (c *checked) meta(pecID string) (map[string]string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return map[string]string{"id": pecID, "check": string(b)}, nil
}
