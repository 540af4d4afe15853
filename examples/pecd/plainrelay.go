package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/pecsdk/pec/provider/mailbox"
)

// The demo's ordinary mail server also submits its users' mail to other
// domains, as any mail server does, so that an ordinary sender can reply
// to a PEC message from a mail client. What the other side refuses comes
// back to the sender as a bounce (a delivery status notification, RFC
// 3464) in the sender's INBOX: that is how an ordinary sender learns that
// a PEC mailbox does not take ordinary mail (ordinary=refuse).

// relayTimeout bounds one relay of a message to another domain.
const relayTimeout = time.Minute

// AuthMechanisms implements smtp.AuthSession: the server's own users may
// authenticate (over TLS) to send to other domains.
func (s *plainSession) AuthMechanisms() []string { return []string{sasl.Plain} }

// Auth implements smtp.AuthSession with PLAIN (RFC 4616).
func (s *plainSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if identity != "" && normalUser(identity) != normalUser(user) {
			return smtp.ErrAuthFailed
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.m.users.Authenticate(ctx, user, pass); err != nil {
			if errors.Is(err, mailbox.ErrAuth) {
				return smtp.ErrAuthFailed
			}
			return &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "temporary authentication failure"}
		}
		s.user = normalUser(user)
		return nil
	}), nil
}

// relayed is what became of one recipient of another domain.
type relayed struct {
	rcpt string
	err  error // nil: the other side took it
}

// permanent reports whether err is a refusal the other side will repeat.
func permanent(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code >= 500
}

// relay hands msg from the session's sender to each recipient of another
// domain, one transaction per domain, to the server the routes name.
func (s *plainSession) relay(ctx context.Context, msg []byte) []relayed {
	byDomain := map[string][]string{}
	var order []string
	for _, r := range s.remote {
		_, dom, _ := strings.Cut(r, "@")
		if byDomain[dom] == nil {
			order = append(order, dom)
		}
		byDomain[dom] = append(byDomain[dom], r)
	}
	var out []relayed
	for _, dom := range order {
		rcpts := byDomain[dom]
		addr, ok := s.m.routes[dom]
		if !ok {
			for _, r := range rcpts {
				out = append(out, relayed{r, &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 2}, Message: "no mail server known for " + dom}})
			}
			continue
		}
		out = append(out, s.m.send(ctx, addr, s.from, rcpts, msg)...)
	}
	return out
}

// send is one SMTP transaction to addr, with STARTTLS when offered (the
// server's certificate checked against the demo's anchors).
func (m *plainMail) send(ctx context.Context, addr, from string, rcpts []string, msg []byte) []relayed {
	all := func(err error) []relayed {
		out := make([]relayed, len(rcpts))
		for i, r := range rcpts {
			out[i] = relayed{r, err}
		}
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, relayTimeout)
	defer cancel()
	dial := func() (net.Conn, error) { return (&net.Dialer{}).DialContext(ctx, "tcp", addr) }
	conn, err := dial()
	if err != nil {
		return all(err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer func() { stop(); conn.Close() }()
	tc := m.clientTLS.Clone()
	tc.ServerName, _, _ = net.SplitHostPort(addr)
	c, err := smtp.NewClientStartTLS(conn, tc)
	if err != nil && strings.Contains(err.Error(), "STARTTLS") {
		// Offered no STARTTLS: in clear, as ordinary mail goes.
		stop()
		conn.Close()
		if conn, err = dial(); err != nil {
			return all(err)
		}
		stop = context.AfterFunc(ctx, func() { conn.Close() })
		c = smtp.NewClient(conn)
	}
	if err != nil && c == nil {
		return all(err)
	}
	c.CommandTimeout = relayTimeout
	c.SubmissionTimeout = relayTimeout
	defer c.Close()
	if err := c.Mail(from, nil); err != nil {
		return all(err)
	}
	out := make([]relayed, 0, len(rcpts))
	var taken []string
	for _, r := range rcpts {
		if err := c.Rcpt(r, nil); err != nil {
			out = append(out, relayed{r, err})
			continue
		}
		taken = append(taken, r)
	}
	if len(taken) == 0 {
		c.Quit()
		return out
	}
	err = func() error {
		w, err := c.Data()
		if err != nil {
			return err
		}
		if _, err := w.Write(msg); err != nil {
			w.Close()
			return err
		}
		return w.Close()
	}()
	for _, r := range taken {
		out = append(out, relayed{r, err})
	}
	if err == nil {
		c.Quit()
	}
	return out
}

// bounce writes the delivery status notification (RFC 3464) of the
// failed recipients of msg, from the server's MAILER-DAEMON to sender.
func (m *plainMail) bounce(w io.Writer, sender string, failed []relayed, msg []byte) error {
	var h message.Header
	now := time.Now()
	h.Set("From", "Mail Delivery System <MAILER-DAEMON@"+m.Domain+">")
	h.Set("To", sender)
	h.Set("Subject", "Undelivered Mail Returned to Sender")
	h.Set("Date", now.Format(time.RFC1123Z))
	h.Set("Message-Id", fmt.Sprintf("<%d.bounce@%s>", now.UnixNano(), m.Domain))
	h.Set("Auto-Submitted", "auto-replied")
	h.Set("MIME-Version", "1.0")
	h.SetContentType("multipart/report", map[string]string{"report-type": "delivery-status"})
	mw, err := message.CreateWriter(w, h)
	if err != nil {
		return err
	}
	var text strings.Builder
	fmt.Fprintf(&text, "This is the mail system at %s.\r\n\r\nYour message could not be delivered to the recipients below.\r\n\r\n", m.Domain)
	var status strings.Builder
	fmt.Fprintf(&status, "Reporting-MTA: dns; %s\r\nArrival-Date: %s\r\n", m.Domain, now.Format(time.RFC1123Z))
	for _, f := range failed {
		code, enh, reason := 451, "4.0.0", f.err.Error()
		var se *smtp.SMTPError
		if errors.As(f.err, &se) {
			code, reason = se.Code, se.Message
			if se.EnhancedCode != (smtp.EnhancedCode{}) && se.EnhancedCode != smtp.NoEnhancedCode {
				enh = fmt.Sprintf("%d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
			} else if code >= 500 {
				enh = "5.0.0"
			}
		}
		reason = strings.Join(strings.Fields(reason), " ")
		fmt.Fprintf(&text, "<%s>: %d %s %s\r\n", f.rcpt, code, enh, reason)
		fmt.Fprintf(&status, "\r\nFinal-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: %s\r\nDiagnostic-Code: smtp; %d %s %s\r\n", f.rcpt, enh, code, enh, reason)
	}
	parts := []struct {
		typ  string
		body []byte
	}{
		{"text/plain", []byte(text.String())},
		{"message/delivery-status", []byte(status.String())},
		{"text/rfc822-headers", headerOf(msg)},
	}
	for _, p := range parts {
		var ph message.Header
		params := map[string]string(nil)
		if p.typ == "text/plain" {
			params = map[string]string{"charset": "utf-8"}
		}
		ph.SetContentType(p.typ, params)
		pw, err := mw.CreatePart(ph)
		if err != nil {
			return err
		}
		if _, err := pw.Write(p.body); err != nil {
			return err
		}
		if err := pw.Close(); err != nil {
			return err
		}
	}
	return mw.Close()
}

// headerOf returns the header of msg, up to its blank line, CRLF ended.
func headerOf(msg []byte) []byte {
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(msg)))
	var b bytes.Buffer
	for {
		line, err := r.ReadLine()
		if err != nil || line == "" {
			break
		}
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// deliverBounce deposits the bounce of failed in the sender's INBOX.
func (m *plainMail) deliverBounce(ctx context.Context, sender string, failed []relayed, msg []byte) error {
	var b bytes.Buffer
	if err := m.bounce(&b, sender, failed, msg); err != nil {
		return err
	}
	mb, err := m.store.Mailbox(ctx, sender)
	if err != nil {
		return err
	}
	_, err = mb.Deliver(ctx, mailbox.Inbox, &b, 0, time.Time{})
	return err
}

var _ smtp.AuthSession = (*plainSession)(nil)
