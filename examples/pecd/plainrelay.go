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
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/pecsdk/pec/provider/mailbox"
)

// The demo's ordinary mail server also submits its users' mail to other
// domains, as any mail server does, so that an ordinary sender can reply
// to a PEC message from a mail client. What the other side refuses, or
// still cannot take after a few attempts (the demo keeps no queue), comes
// back to the sender as a bounce (a delivery status notification, RFC
// 3464) in the sender's INBOX: that is how an ordinary sender learns that
// a PEC mailbox does not take ordinary mail (ordinary=refuse).

// relayTimeout bounds one attempt at relaying a message to another domain.
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
		ctx, cancel := context.WithTimeout(s.m.life, 10*time.Second)
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

// relayed is what became of one recipient.
type relayed struct {
	rcpt string
	err  error // nil: handed on
}

// errNoRoute is the failure of a recipient of a domain without a route.
var errNoRoute = errors.New("no mail server known for the recipient's domain")

// permanent reports whether err is a failure that trying again will not
// mend: a 5xx reply, a domain without a route, a full mailbox.
func permanent(err error) bool {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code >= 500
	}
	return errors.Is(err, errNoRoute) || errors.Is(err, mailbox.ErrQuota)
}

// defaultRetryDelays are the waits before the second and third attempts
// at what failed for now.
var defaultRetryDelays = []time.Duration{time.Second, 5 * time.Second}

// attempts calls try with rcpts, then with those that failed for now
// again after each of the retry delays, until none is left, the delays
// are over or ctx is done. It returns the last outcome of each recipient.
func (m *plainMail) attempts(ctx context.Context, rcpts []string, try func([]string) []relayed) []relayed {
	delays := m.retryDelays
	if delays == nil {
		delays = defaultRetryDelays
	}
	var out []relayed
	for i := 0; ; i++ {
		var again []relayed
		for _, res := range try(rcpts) {
			if res.err != nil && !permanent(res.err) {
				again = append(again, res)
			} else {
				out = append(out, res)
			}
		}
		if len(again) == 0 || i == len(delays) || !sleep(ctx, delays[i]) {
			return append(out, again...)
		}
		rcpts = make([]string, len(again))
		for j, res := range again {
			rcpts[j] = res.rcpt
		}
	}
}

// sleep waits d, and reports false when ctx is done first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// relay hands the message, made of parts, from from to each of rcpts,
// addresses of other domains, one transaction per domain, to the server
// the routes name.
func (m *plainMail) relay(ctx context.Context, from string, rcpts []string, parts ...[]byte) []relayed {
	byDomain := map[string][]string{}
	var order []string
	for _, r := range rcpts {
		_, dom, _ := strings.Cut(r, "@")
		if byDomain[dom] == nil {
			order = append(order, dom)
		}
		byDomain[dom] = append(byDomain[dom], r)
	}
	var out []relayed
	for _, dom := range order {
		rcpts := byDomain[dom]
		addr, ok := m.routes[dom]
		if !ok { // refused at RCPT already
			for _, r := range rcpts {
				out = append(out, relayed{r, errNoRoute})
			}
			continue
		}
		out = append(out, m.send(ctx, addr, from, rcpts, parts...)...)
	}
	return out
}

// send is one SMTP transaction to addr, with STARTTLS when offered (the
// server's certificate checked against the demo's anchors), the message
// written from its parts as they are.
func (m *plainMail) send(ctx context.Context, addr, from string, rcpts []string, parts ...[]byte) []relayed {
	all := func(err error) []relayed {
		out := make([]relayed, len(rcpts))
		for i, r := range rcpts {
			out[i] = relayed{r, err}
		}
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, relayTimeout)
	defer cancel() // closes the connections dial made
	dial := func() (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		context.AfterFunc(ctx, func() { conn.Close() })
		return conn, nil
	}
	conn, err := dial()
	if err != nil {
		return all(err)
	}
	tc := m.clientTLS.Clone()
	tc.ServerName, _, _ = net.SplitHostPort(addr)
	c, err := smtp.NewClientStartTLS(conn, tc)
	var se *smtp.SMTPError
	if err != nil && !errors.As(err, &se) && strings.Contains(err.Error(), "support STARTTLS") {
		// Offered no STARTTLS: in clear, as ordinary mail goes.
		conn.Close()
		if conn, err = dial(); err != nil {
			return all(err)
		}
		c, err = smtp.NewClient(conn), nil
	}
	if err != nil {
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
		for _, p := range parts {
			if _, err := w.Write(p); err != nil {
				w.Close()
				return err
			}
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

// dsnStatus returns the Status of a recipient that failed with err, for
// an Action: failed (so a 5.x.x code), the remote reply for its
// Diagnostic-Code (empty when err is no reply of another server), and
// what happened in words. A failure for now that was not tried again is
// 5.4.7: the demo keeps no queue, and what it did not deliver in the
// attempts of one transaction it does not deliver later.
func dsnStatus(err error) (status, diagnostic, text string) {
	flat := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		diagnostic = strconv.Itoa(se.Code)
		e := se.EnhancedCode
		if e != smtp.EnhancedCodeNotSet && e != smtp.NoEnhancedCode {
			diagnostic += fmt.Sprintf(" %d.%d.%d", e[0], e[1], e[2])
		}
		diagnostic += " " + flat(se.Message)
		if se.Code >= 500 {
			status = "5.0.0"
			if e[0] == 5 {
				status = fmt.Sprintf("5.%d.%d", e[1], e[2])
			}
			return status, diagnostic, "refused by the recipient's mail server: " + diagnostic
		}
		return "5.4.7", diagnostic, "not delivered, no further attempt made after the recipient's mail server answered: " + diagnostic
	}
	switch {
	case errors.Is(err, errNoRoute):
		return "5.1.2", "", "no mail server known for the recipient's domain"
	case errors.Is(err, mailbox.ErrQuota):
		return "5.2.2", "", "the recipient's mailbox is full"
	}
	return "5.4.7", "", "not delivered, no further attempt made after: " + flat(err.Error())
}

// bounce writes the delivery status notification (RFC 3464) of the
// failed recipients of msg, which arrived at arrived, from the server's
// MAILER-DAEMON to sender.
func (m *plainMail) bounce(w io.Writer, sender string, arrived time.Time, failed []relayed, msg []byte) error {
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
	var report strings.Builder
	fmt.Fprintf(&report, "Reporting-MTA: dns; %s\r\nArrival-Date: %s\r\n", m.Domain, arrived.Format(time.RFC1123Z))
	for _, f := range failed {
		status, diagnostic, what := dsnStatus(f.err)
		fmt.Fprintf(&text, "<%s>: %s\r\n", f.rcpt, what)
		fmt.Fprintf(&report, "\r\nFinal-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: %s\r\n", f.rcpt, status)
		if diagnostic != "" {
			fmt.Fprintf(&report, "Diagnostic-Code: smtp; %s\r\n", diagnostic)
		}
	}
	parts := []struct {
		typ  string
		body []byte
	}{
		{"text/plain", []byte(text.String())},
		{"message/delivery-status", []byte(report.String())},
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

// maxBounceHeader bounds the header of the message a bounce returns.
const maxBounceHeader = 64 << 10

// headerOf returns the header of msg, up to its blank line, CRLF ended:
// the whole lines of it that fit in maxBounceHeader bytes.
func headerOf(msg []byte) []byte {
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(msg[:min(len(msg), maxBounceHeader)])))
	var b bytes.Buffer
	for {
		line, err := r.ReadLine()
		if err != nil || line == "" || b.Len()+len(line)+2 > maxBounceHeader {
			break
		}
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// deliverBounce deposits the bounce of failed in the sender's INBOX.
func (m *plainMail) deliverBounce(sender string, arrived time.Time, failed []relayed, msg []byte) error {
	var b bytes.Buffer
	if err := m.bounce(&b, sender, arrived, failed, msg); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(m.life, bounceTimeout)
	defer cancel()
	mb, err := m.store.Mailbox(ctx, sender)
	if err != nil {
		return err
	}
	_, err = mb.Deliver(ctx, mailbox.Inbox, &b, 0, time.Time{})
	return err
}

var _ smtp.AuthSession = (*plainSession)(nil)
