package dovecottest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/receipt"
)

// Provider is a PEC provider for submission tests: an SMTP submission
// server on loopback that requires TLS and authentication, and that does
// what the sender's access point and the recipient's provider do with what
// it accepts (PEC.md §11). It writes the acceptance receipt, the transport
// envelope and the delivery receipts (or the notices an outcome asks for)
// straight into the Dovecot mailboxes of the sender and the recipients.
type Provider struct {
	SMTPS string // implicit TLS submission address (as on port 465)
	SMTP  string // STARTTLS submission address (as on port 587)

	opts ProviderOptions
	mu   sync.Mutex
	subs []Submission
	srv  *smtp.Server
}

// ProviderOptions configure a Provider.
type ProviderOptions struct {
	Dovecot *Server             // where mail is delivered; its users are the provider's accounts
	TLS     *tls.Config         // the server certificate
	Sender  *smime.Signer       // the sender's provider (access point, timeouts)
	Receive *smime.Signer       // the recipients' provider (delivery receipts)
	Name    string              // gestore-emittente of the sender's provider
	RName   string              // gestore-emittente of the recipients' provider
	Domain  string              // the sender provider's mail domain (PEC msgids)
	Managed []string            // domains whose recipients are certificato; others are esterno
	Outcome map[string]pec.Kind // per recipient address: the notice to produce instead of a delivery receipt
	// Refuse, when set, is asked about each message; an error refuses it
	// at the end of DATA with 554.
	Refuse func(data []byte) error
	// MaxBytes is the SIZE announced; zero: no limit.
	MaxBytes int64
	// Now is the provider clock; nil: time.Now.
	Now func() time.Time
}

// Submission is a message the provider accepted.
type Submission struct {
	User     string   // authenticated as
	From     string   // MAIL FROM
	Rcpt     []string // RCPT TO
	Data     []byte
	ID       string // PEC msgid given
	Envelope *daticert.Data
}

// StartProvider starts the provider and stops it at the end of the test.
func StartProvider(tb testing.TB, opts ProviderOptions) *Provider {
	tb.Helper()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	p := &Provider{opts: opts}
	s := smtp.NewServer(p)
	s.Domain = "localhost"
	s.TLSConfig = opts.TLS
	s.MaxMessageBytes = opts.MaxBytes
	s.ReadTimeout = 20 * time.Second
	s.WriteTimeout = 20 * time.Second
	s.MaxRecipients = 100
	p.srv = s
	l1, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p.SMTPS, p.SMTP = l1.Addr().String(), l2.Addr().String()
	go s.Serve(tls.NewListener(l1, opts.TLS))
	go s.Serve(l2)
	tb.Cleanup(func() { s.Close() })
	return p
}

// Submissions returns what the provider accepted so far.
func (p *Provider) Submissions() []Submission {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Submission(nil), p.subs...)
}

// NewSession implements smtp.Backend.
func (p *Provider) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{p: p}, nil
}

type session struct {
	p    *Provider
	user string
	from string
	rcpt []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if want, ok := s.p.opts.Dovecot.users[user]; !ok || want != pass {
			return smtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return smtp.ErrAuthFailed
			}
			return check(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	if !strings.EqualFold(from, s.user) { // PEC.md §11.1 items 1 and 5
		return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "sender is not the authenticated mailbox"}
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.from == "" {
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "MAIL first"}
	}
	if _, err := mail.ParseAddress(to); err != nil {
		return &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "bad address"}
	}
	s.rcpt = append(s.rcpt, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if f := s.p.opts.Refuse; f != nil {
		if err := f(b); err != nil {
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: err.Error()}
		}
	}
	if err := s.p.accept(s.user, s.from, s.rcpt, b); err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: err.Error()}
	}
	return nil
}

func (s *session) Reset()        { s.from, s.rcpt = "", nil }
func (s *session) Logout() error { return nil }

// accept does what the access point and the recipient's provider do.
func (p *Provider) accept(user, from string, rcpt []string, data []byte) error {
	o := &p.opts
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		return err
	}
	if n := len(h.Values("From")); n != 1 {
		return fmt.Errorf("%d From fields", n)
	}
	if h.Get("Bcc") != "" {
		return errors.New("Bcc present")
	}
	var listed []pec.Recipient
	inHeader := map[string]bool{}
	for _, f := range []string{"To", "Cc"} {
		if h.Get(f) == "" {
			continue
		}
		as, err := mail.ParseAddressList(h.Get(f))
		if err != nil {
			return fmt.Errorf("%s: %v", f, err)
		}
		for _, a := range as {
			t := pec.RecipientExternal
			for _, d := range o.Managed {
				if strings.EqualFold(pec.Domain(a.Address), d) {
					t = pec.RecipientCertified
				}
			}
			listed = append(listed, pec.Recipient{Address: a.Address, Type: t})
			inHeader[strings.ToLower(a.Address)] = true
		}
	}
	for _, r := range rcpt { // PEC.md §11.1 item 6
		if !inHeader[strings.ToLower(r)] {
			return fmt.Errorf("recipient %s not in To or Cc", r)
		}
	}
	subject := h.Get("Subject")
	if dec, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
		subject = dec
	}
	rt := pec.ReceiptFull
	if v := h.Get(pec.HeaderReceiptType); v != "" {
		if rt, err = pec.ParseReceiptType(v); err != nil {
			return err
		}
	}
	t0 := pec.Local(o.Now())
	env := &daticert.Data{
		Type: pec.CertTransport, Error: pec.ErrorNone, Sender: from, Recipients: listed,
		ReplyTo: from, Subject: subject, Provider: o.Name, Time: t0,
		ID: pec.NewMsgID(o.Domain, t0), MsgID: h.Get("Message-Id"), ReceiptType: rt,
	}
	var transport bytes.Buffer
	if err := envelope.Build(&transport, bytes.NewReader(data), env, o.Sender, nil); err != nil {
		return fmt.Errorf("envelope: %v", err)
	}
	parsed, err := envelope.Parse(bytes.NewReader(transport.Bytes()), nil)
	if err != nil {
		return err
	}
	or, err := parsed.Original()
	if err != nil {
		return err
	}
	deposited, err := io.ReadAll(or)
	if err != nil {
		return err
	}
	build := func(k pec.Kind, signer *smime.Signer, provider string, at time.Time, rcpt []string, extended string, code pec.ErrorCode, original []byte) ([]byte, error) {
		d := receipt.NewData(k, env, provider, at, rcpt, extended)
		if code != "" {
			d.Error = code
		}
		ro := &receipt.Options{}
		if original != nil {
			ro.Original = bytes.NewReader(original)
		}
		var b bytes.Buffer
		if err := receipt.Build(&b, k, d, signer, ro); err != nil {
			return nil, fmt.Errorf("%v: %v", k, err)
		}
		return b.Bytes(), nil
	}
	acc, err := build(pec.KindAcceptance, o.Sender, o.Name, t0, nil, "", "", nil)
	if err != nil {
		return err
	}
	var out [][]byte
	out = append(out, acc)
	for i, r := range listed {
		if r.Type != pec.RecipientCertified {
			continue
		}
		at := t0.Add(time.Duration(i+1) * time.Second)
		k, forced := o.Outcome[strings.ToLower(r.Address)]
		_, exists := o.Dovecot.users[r.Address]
		var b []byte
		switch {
		case forced && (k == pec.KindDeliveryTimeout12h || k == pec.KindDeliveryTimeout24h):
			hours := map[pec.Kind]time.Duration{pec.KindDeliveryTimeout12h: 12, pec.KindDeliveryTimeout24h: 23}[k]
			b, err = build(k, o.Sender, o.Name, t0.Add(hours*time.Hour), []string{r.Address}, "", "", nil)
		case forced:
			b, err = build(k, o.Receive, o.RName, at, []string{r.Address}, "", "", nil)
		case !exists:
			b, err = build(pec.KindDeliveryError, o.Receive, o.RName, at, []string{r.Address},
				"5.1.1 - "+o.RName+" - casella inesistente", pec.ErrorNoDest, nil)
		default:
			if err = o.Dovecot.Deliver(r.Address, transport.Bytes()); err != nil {
				return err
			}
			kind := pec.DeliveryKind(rt, false)
			var orig []byte
			if kind != pec.KindDeliverySummary {
				orig = deposited
			}
			b, err = build(kind, o.Receive, o.RName, at, []string{r.Address}, "", "", orig)
		}
		if err != nil {
			return err
		}
		out = append(out, b)
	}
	for _, b := range out {
		if err := o.Dovecot.Deliver(user, b); err != nil {
			return err
		}
	}
	p.mu.Lock()
	p.subs = append(p.subs, Submission{User: user, From: from, Rcpt: rcpt, Data: data, ID: env.ID, Envelope: env})
	p.mu.Unlock()
	return nil
}

// loginServer is the server side of SASL LOGIN, which go-sasl no longer
// provides.
type loginServer struct {
	check func(user, pass string) error
	user  string
	step  int
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		if resp == nil {
			return []byte("Username:"), false, nil
		}
		l.user = string(resp)
		return []byte("Password:"), false, nil
	case 2:
		if l.user == "" {
			l.user = string(resp)
			return []byte("Password:"), false, nil
		}
		return nil, true, l.check(l.user, string(resp))
	case 3:
		return nil, true, l.check(l.user, string(resp))
	}
	return nil, false, errors.New("unexpected response")
}
