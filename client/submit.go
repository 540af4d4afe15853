package client

// Submission over SMTP (RFC 6409) with go-smtp: implicit TLS (RFC 8314,
// port 465) or STARTTLS (RFC 3207, port 587), SASL PLAIN or LOGIN
// (RFC 4954). PEC.md §15.1, §15.2.

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
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/pecsdk/pec/pec"
)

// SubmitOptions say where and how to submit. Server and Username are
// required.
type SubmitOptions struct {
	Server    Endpoint    // the provider's submission server
	TLSConfig *tls.Config // nil: system roots, server name from Server.Host
	Username  string
	Password  string
	Auth      AuthMethod // AuthPlain, AuthLogin; empty: PLAIN if offered, else LOGIN
	// Mailbox is the authenticated mailbox, which From must be (PEC.md
	// §11.1 item 1); empty means Username, as PEC logins are the
	// mailbox address.
	Mailbox string
	// MaxTotal is the provider's size limit, message size × recipients;
	// zero means DefaultMaxTotal, negative none. A smaller SIZE announced
	// by the server (RFC 1870) is honoured too.
	MaxTotal int64
	// Tracker, when set, registers the message before it is sent; a
	// Message-ID it already follows is refused with ErrAlreadySent.
	Tracker *Tracker
	// LocalName is the name given in EHLO; empty: "localhost".
	LocalName string
	// Timeout is the limit of each exchange: the connection, the
	// greeting, the TLS handshake (after STARTTLS too), each command; the
	// end of DATA has five times as long. Zero: two minutes. A context
	// deadline, when earlier, wins.
	Timeout time.Duration
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Logger receives what the submission does; nil is silent.
	Logger *slog.Logger
	// DebugWriter receives the wire trace, credentials included.
	DebugWriter io.Writer
}

// Submission is what Send did.
type Submission struct {
	MessageID  string    // the Message-ID, without brackets: the correlation key
	Recipients []string  // the RCPT TO set: To then Cc
	Size       int64     // bytes of the message
	Time       time.Time // when the provider took it
}

// SendError is a failure of Send in the DATA phase, after the message was
// registered with the tracker. Uncertain is false for a refusal of the
// message (an SMTP reply): the tracker then withdraws the registration, and
// the same message may be sent again. It is true when the connection failed
// while or after the data was written, which only the acceptance receipt
// (or its absence) can settle: the tracker keeps the Message-ID, so the same
// message cannot be sent twice by mistake.
type SendError struct {
	MessageID string
	Uncertain bool
	Err       error
}

// Error implements error.
func (e *SendError) Error() string {
	s := "refused"
	if e.Uncertain {
		s = "outcome unknown (wait for the acceptance receipt)"
	}
	return fmt.Sprintf("client: send %s: %s: %v", e.MessageID, s, e.Err)
}

// Unwrap returns the underlying error (an *smtp.SMTPError for a refusal).
func (e *SendError) Unwrap() error { return e.Err }

// Send checks d as the provider would (Draft.Check, the sender, the size),
// composes it, and submits it. With a Tracker it registers the message
// (Tracker.Register) once the provider has accepted every recipient and
// before the data goes out, so that a second Send of the same Message-ID is
// refused with ErrAlreadySent, even when the first one's outcome is
// unknown. Nothing is sent when a check fails.
func Send(ctx context.Context, d *Draft, opts *SubmitOptions) (*Submission, error) {
	if opts == nil || opts.Server.IsZero() || opts.Server.Port == 0 {
		return nil, errors.New("client: send: no server")
	}
	o := *opts
	if o.Username == "" {
		return nil, errors.New("client: send: no user name")
	}
	if o.Mailbox == "" {
		o.Mailbox = o.Username
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if err := o.Server.Security.check(); err != nil {
		return nil, fmt.Errorf("client: send: %s: %w", o.Server.Addr(), err)
	}
	if o.Server.Security == "" {
		o.Server.Security = SecurityTLS
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := d.Check(); err != nil {
		return nil, err
	}
	if !pec.EqualAddress(d.sender(), o.Mailbox) {
		return nil, fmt.Errorf("%w: From %s, logged in as %s", ErrSender, d.sender(), o.Mailbox)
	}
	if o.Tracker != nil && d.MessageID != "" {
		if _, ok := o.Tracker.Status(d.MessageID); ok {
			return nil, fmt.Errorf("client: send %s: %w", d.MessageID, ErrAlreadySent)
		}
	}
	var msg bytes.Buffer
	now := o.Now()
	id, err := Compose(&msg, d, &ComposeOptions{MaxTotal: o.MaxTotal, Now: func() time.Time { return now }})
	if err != nil {
		return nil, err
	}
	rcpts := d.recipients()

	c, err := dialSMTP(ctx, &o)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer func() {
		stop()
		c.Close()
	}()
	wrap := func(step string, err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("client: smtp: %s: %w", step, ctx.Err())
		}
		return fmt.Errorf("client: smtp: %s: %s: %w", o.Server.Addr(), step, err)
	}
	if max, ok := c.MaxMessageSize(); ok && max > 0 && int64(msg.Len()) > int64(max) {
		return nil, fmt.Errorf("%w: %d bytes, the server takes at most %d", ErrTooLarge, msg.Len(), max)
	}
	if err := authSMTP(c, &o); err != nil {
		if ctx.Err() != nil {
			return nil, wrap("AUTH", err)
		}
		return nil, err
	}
	if err := c.Mail(d.sender(), &smtp.MailOptions{Size: int64(msg.Len())}); err != nil {
		return nil, wrap("MAIL FROM", err)
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r, nil); err != nil {
			_ = c.Reset()
			return nil, wrap("RCPT TO "+r, err)
		}
	}
	if o.Tracker != nil {
		err := o.Tracker.Register(Sent{
			MessageID: id, From: d.sender(), To: d.To, Cc: d.Cc,
			Subject: d.Subject, Time: now, ReceiptType: d.ReceiptType,
		})
		if err != nil {
			_ = c.Reset()
			return nil, fmt.Errorf("client: send %s: %w", id, err)
		}
	}
	log.Info("smtp: sending", "message-id", id, "recipients", len(rcpts), "bytes", msg.Len())
	size := int64(msg.Len())
	if afterDot, err := data(c, msg.Bytes()); err != nil {
		// Certain: a reply refusing the data, or a failure before the
		// final dot went out (the server cannot have taken the message).
		var se *smtp.SMTPError
		certain := errors.As(err, &se) || !afterDot
		if certain && o.Tracker != nil {
			// Refused for certain: never sent, so it may be sent again.
			if werr := o.Tracker.Withdraw(id, se.Message); werr != nil {
				log.Warn("tracker: withdraw failed", "message-id", id, "err", werr)
			}
		}
		return nil, &SendError{MessageID: id, Uncertain: !certain, Err: wrap("DATA", err)}
	}
	_ = c.Quit()
	return &Submission{MessageID: id, Recipients: rcpts, Size: size, Time: now}, nil
}

// data sends the message; the error of the final reply matters. afterDot
// says whether the failure came while or after the end of the data was
// sent, when the server may have taken the message.
func data(c *smtp.Client, msg []byte) (afterDot bool, err error) {
	w, err := c.Data()
	if err != nil {
		return false, err
	}
	if _, err := w.Write(msg); err != nil {
		w.Close()
		return false, err
	}
	return true, w.Close()
}

// dialSMTP connects, protects the connection and greets.
func dialSMTP(ctx context.Context, o *SubmitOptions) (*smtp.Client, error) {
	addr := o.Server.Addr()
	conf := tlsConfigFor(o.TLSConfig, addr)
	conn, err := dialTLS(ctx, addr, o.Server.Security, conf, o.Timeout)
	if err != nil {
		return nil, fmt.Errorf("client: smtp: %s: %w", addr, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var c *smtp.Client
	if o.Server.Security == SecurityStartTLS {
		// go-smtp upgrades as it greets, with EHLO localhost and its own
		// five-minute limits, before the client's can be set: bound every
		// exchange of the setup by Timeout, then leave the limits to
		// go-smtp's, which are ours by then. The EHLO after STARTTLS
		// runs the handshake, and uses LocalName.
		sc := &setupConn{Conn: conn, limit: o.Timeout}
		defer sc.done()
		c, err = smtp.NewClientStartTLS(sc, conf)
		if err != nil {
			conn.Close()
			if strings.Contains(err.Error(), "support STARTTLS") {
				err = fmt.Errorf("%w: no STARTTLS", ErrInsecure)
			}
			return nil, fmt.Errorf("client: smtp: %s: STARTTLS: %w", addr, err)
		}
		setupSMTP(c, o)
		if err := c.Hello(localName(o)); err != nil {
			c.Close()
			return nil, fmt.Errorf("client: smtp: %s: STARTTLS: %w", addr, err)
		}
		if _, ok := c.TLSConnectionState(); !ok {
			c.Close()
			return nil, fmt.Errorf("client: smtp: %s: %w: STARTTLS did not take", addr, ErrInsecure)
		}
	} else {
		c = smtp.NewClient(conn)
		setupSMTP(c, o)
		if err := c.Hello(localName(o)); err != nil {
			c.Close()
			return nil, fmt.Errorf("client: smtp: %s: EHLO: %w", addr, err)
		}
	}
	if ctx.Err() != nil {
		c.Close()
		return nil, fmt.Errorf("client: smtp: %s: %w", addr, ctx.Err())
	}
	return c, nil
}

// setupConn bounds each deadline set on a connection to limit from when
// it is set, so that no exchange waits longer than that, until done.
type setupConn struct {
	net.Conn
	limit time.Duration // 0 once done
}

func (c *setupConn) clamp(t time.Time) time.Time {
	if c.limit <= 0 {
		return t
	}
	if max := time.Now().Add(c.limit); t.IsZero() || t.After(max) {
		return max
	}
	return t
}

// SetDeadline implements net.Conn.
func (c *setupConn) SetDeadline(t time.Time) error { return c.Conn.SetDeadline(c.clamp(t)) }

// SetReadDeadline implements net.Conn.
func (c *setupConn) SetReadDeadline(t time.Time) error { return c.Conn.SetReadDeadline(c.clamp(t)) }

// SetWriteDeadline implements net.Conn.
func (c *setupConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(c.clamp(t)) }

// Read implements net.Conn, bounded by the limit during the setup.
func (c *setupConn) Read(p []byte) (int, error) {
	if c.limit > 0 {
		_ = c.Conn.SetReadDeadline(time.Now().Add(c.limit))
	}
	return c.Conn.Read(p)
}

// done ends the bounds and clears the deadlines.
func (c *setupConn) done() {
	if c.limit > 0 {
		c.limit = 0
		_ = c.Conn.SetDeadline(time.Time{})
	}
}

func setupSMTP(c *smtp.Client, o *SubmitOptions) {
	c.CommandTimeout = o.Timeout
	c.SubmissionTimeout = 5 * o.Timeout
	c.DebugWriter = o.DebugWriter
}

func localName(o *SubmitOptions) string {
	if o.LocalName != "" {
		return o.LocalName
	}
	return "localhost"
}

// authSMTP logs in with the method asked for, else PLAIN when offered,
// else LOGIN. A refusal is ErrAuth.
func authSMTP(c *smtp.Client, o *SubmitOptions) error {
	method := o.Auth
	if method == "" {
		switch {
		case c.SupportsAuth(sasl.Plain):
			method = AuthPlain
		case c.SupportsAuth(sasl.Login):
			method = AuthLogin
		default:
			return fmt.Errorf("client: smtp: %s: the server offers neither AUTH PLAIN nor AUTH LOGIN", o.Server.Addr())
		}
	}
	var a sasl.Client
	switch method {
	case AuthPlain:
		a = sasl.NewPlainClient("", o.Username, o.Password)
	case AuthLogin:
		a = newLoginClient(o.Username, o.Password)
	default:
		return fmt.Errorf("client: smtp: authentication method %q not supported", method)
	}
	err := c.Auth(a)
	var se *smtp.SMTPError
	if errors.As(err, &se) && (se.Code == 535 || se.Code == 534 || se.Code == 530 || se.Code == 538) {
		return fmt.Errorf("%w: %s as %s: %v", ErrAuth, o.Server.Addr(), o.Username, err)
	}
	if err != nil {
		return fmt.Errorf("client: smtp: %s: AUTH %s: %w", o.Server.Addr(), method, err)
	}
	return nil
}
