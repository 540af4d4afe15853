package provider

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/mail"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-smtp"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/pecmail"
	"github.com/pecsdk/pec/provider/spool"
	"github.com/pecsdk/pec/receipt"
)

// incomingBackend is the incoming point's SMTP backend: the MX of the
// provider's domains (PEC.md §11.2, §11.6).
type incomingBackend struct{ p *Provider }

// NewSession implements smtp.Backend.
func (b *incomingBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.p.mu.Lock()
	closed := b.p.closed
	b.p.mu.Unlock()
	if closed {
		return nil, &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "shutting down"}
	}
	return &incomingSession{p: b.p, conn: c}, nil
}

type incomingSession struct {
	p       *Provider
	conn    *smtp.Conn
	from    string
	hasFrom bool
	rcpt    []string
}

// Mail implements smtp.Session.
func (s *incomingSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.hasFrom {
		return errNestedMail
	}
	if !isText(from) {
		return errBadAddr
	}
	s.from, s.hasFrom = from, true
	return nil
}

// Rcpt implements smtp.Session: only the provider's domains (no relaying).
// Unknown mailboxes of those domains are accepted, so that a PEC sender gets
// a signed non-delivery (no-dest) rather than an SMTP error.
func (s *incomingSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !s.hasFrom {
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "MAIL first"}
	}
	if !isText(to) {
		return errBadAddr
	}
	if !s.p.ours(to) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "relaying denied"}
	}
	s.rcpt = append(s.rcpt, to)
	return nil
}

// Data implements smtp.Session: the message goes into the spool before the
// 250, unless a recipient's mailbox refuses what is not a valid PEC object
// and the message is not one (PEC.md §11.2).
func (s *incomingSession) Data(r io.Reader) error {
	if !s.hasFrom || len(s.rcpt) == 0 {
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "MAIL and RCPT first"}
	}
	p := s.p
	body, release, err := p.readData(r, p.cfg.CommandTimeout)
	if err != nil {
		return err
	}
	defer release()
	if !idsText(body) {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "the Message-ID is not valid text"}
	}
	if f := p.cfg.RefuseOrdinary; f != nil {
		var in *inbound
		for _, rc := range s.rcpt {
			if !f(userName(rc)) {
				continue
			}
			if in == nil {
				in = p.inspect(body)
			}
			if in.reasonFor(p, rc) != "" {
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "mailbox " + rc + " accepts certified mail only"}
			}
		}
	}
	var rnd [16]byte
	rand.Read(rnd[:])
	id := "i." + hex.EncodeToString(rnd[:])
	it := &spool.Item{
		ID: id, Role: spool.RoleIncoming, From: s.from, To: s.rcpt,
		Peer: s.conn.Conn().RemoteAddr().String(), Helo: heloText(s.conn.Hostname()), Received: p.cfg.Now(),
	}
	if _, ok := s.conn.TLSConnectionState(); ok {
		it.Meta = map[string]string{"tls": "yes"}
	}
	if err := p.cfg.Spool.Put(p.ctx, it, bytes.NewReader(body)); err != nil {
		p.cfg.Logger.Error("spool put", "err", err)
		return errSpool
	}
	p.kick(id)
	return nil
}

// isText reports whether s is valid UTF-8 free of control characters, as
// the spool and the certification data need every address to be.
func isText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// idsText reports whether the Message-ID fields of a message are text,
// as the trace needs the identifiers it records to be.
func idsText(body []byte) bool {
	m, err := mail.ReadMessage(bytes.NewReader(body))
	if err != nil {
		return true
	}
	for _, v := range m.Header["Message-Id"] {
		if !isText(v) {
			return false
		}
	}
	return true
}

// heloText is the EHLO name as kept in the spool: quoted when it is not
// text, so that a client's junk does not make its message unstorable.
func heloText(h string) string {
	if isText(h) {
		return h
	}
	return strconv.QuoteToASCII(h)
}

// Reset implements smtp.Session.
func (s *incomingSession) Reset() { s.from, s.hasFrom, s.rcpt = "", false, nil }

// Logout implements smtp.Session.
func (s *incomingSession) Logout() error { return nil }

// inbound is what the incoming point made of a message (PEC.md §11.2).
type inbound struct {
	env    *envelope.Envelope // a transport envelope whose checks 1–4 pass
	rec    *receipt.Receipt   // a notice whose checks 1–4 pass
	signer *index.Provider    // the provider that signed it
	reason string             // why it is neither: for the anomaly envelope
}

// inspect verifies a received message live against the index: signature
// present, signer listed, signature valid, formally correct, From domain
// managed by the signer's provider (PEC.md §11.2 checks 1–5).
func (p *Provider) inspect(body []byte) *inbound {
	in := &inbound{}
	// One reading, whatever the message is: a notice is not read and
	// verified a second time as a receipt after failing as an envelope.
	m, err := pecmail.Read(bytes.NewReader(body), p.verifyOptions())
	if err != nil {
		in.reason = "messaggio non certificato"
		return in
	}
	e, err := envelope.Of(m)
	switch {
	case err == nil && e.Wrapped:
		// A PEC message forwarded inside other mail is that mail, not a
		// PEC object: its wrapper is what would be deposited.
		in.reason = "il messaggio PEC è inoltrato dentro un altro messaggio"
		return in
	case err == nil:
		if e.Kind != pec.KindTransport {
			in.reason = "il messaggio non è una busta di trasporto"
			return in
		}
		if !e.OK() || e.Data == nil {
			in.reason = "la firma o il formato della busta non sono validi (" + summary(e.Signature, e.Err()) + ")"
			return in
		}
		in.env = e
	case errors.Is(err, envelope.ErrNotEnvelope):
		r, err := receipt.Of(m)
		if err != nil {
			in.reason = "ricevuta non leggibile: " + err.Error()
			return in
		}
		if r.Wrapped {
			in.reason = "la ricevuta è inoltrata dentro un altro messaggio"
			return in
		}
		if !r.OK() || r.Data == nil {
			in.reason = "la firma o il formato della ricevuta non sono validi (" + summary(r.Signature, r.Err()) + ")"
			return in
		}
		in.rec = r
	default:
		in.reason = "messaggio non certificato"
		return in
	}
	var signer *index.Provider
	if v := signature(in); v != nil && v.Signer != nil {
		signer, _ = p.cfg.Index.Signer(v.Signer)
	}
	if signer == nil {
		in.env, in.rec = nil, nil
		in.reason = "firmatario non presente nell'indice dei gestori"
		return in
	}
	in.signer = signer
	return in
}

// reasonFor says why the message may not be taken as the PEC object it is
// for recipient rcpt, "" when it may: a transport envelope must list rcpt
// among its signed destinatari and come from a provider that manages the
// sender's domain; a notice must be addressed to its signed mittente, or to
// the provider's service mailbox for presa in carico and rilevazione virus
// about the provider's own users. A genuine object replayed toward another
// party is thus delivered only as an anomaly.
func (in *inbound) reasonFor(p *Provider, rcpt string) string {
	switch {
	case in.reason != "":
		return in.reason
	case in.env != nil:
		d := in.env.Data
		if !listed(d, rcpt) {
			return "il destinatario " + rcpt + " non è tra i destinatari certificati della busta"
		}
		if !manages(in.signer, d.Sender) {
			return "il gestore firmatario non gestisce il dominio del mittente " + d.Sender
		}
	case in.rec != nil:
		d := in.rec.Data
		switch in.rec.Kind {
		case pec.KindTakeInCharge, pec.KindVirusDetected:
			if p.cfg.ServiceMailbox == "" || userName(rcpt) != userName(p.cfg.ServiceMailbox) || !p.ours(d.Sender) {
				return "avviso per un altro gestore"
			}
		default:
			if userName(rcpt) != userName(d.Sender) {
				return "ricevuta destinata a un altro utente"
			}
		}
	}
	return ""
}

// listed reports whether rcpt is a certified recipient in d (destinatari).
func listed(d *daticert.Data, rcpt string) bool {
	return containsAddr(d.RecipientsOfType(pec.RecipientCertified), rcpt)
}

// manages reports whether the provider entry e manages the domain of addr.
func manages(e *index.Provider, addr string) bool {
	if e == nil {
		return false
	}
	d := domainOf(addr)
	for _, x := range e.Domains {
		if x == d {
			return true
		}
	}
	return false
}

// signature returns the verdict on the signature of what in holds.
func signature(in *inbound) *smime.Verdict {
	switch {
	case in.env != nil:
		return in.env.Signature
	case in.rec != nil:
		return in.rec.Signature
	}
	return nil
}

// summary says in a few words why a signature or a message was refused.
func summary(v *smime.Verdict, err error) string {
	s := "non firmato"
	if v != nil {
		s = v.Summary()
	}
	if err != nil {
		s += "; " + err.Error()
	}
	return s
}
