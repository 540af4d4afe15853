package envelope

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"github.com/pecsdk/pec/internal/pecmsg"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/smime"
)

// Envelope is a parsed transport or anomaly envelope.
type Envelope struct {
	Kind       pec.Kind       // pec.KindTransport or pec.KindAnomaly
	Header     mail.Header    // the envelope's own header
	Data       *daticert.Data // certification data; nil for an anomaly envelope or when missing
	Signature  *smime.Verdict // nil when the envelope is not signed
	Wrapped    bool           // found inside a forwarding or archiving wrapper
	Problems   []error        // what is wrong or missing (typed; see pec.ParseError)
	Deviations []string       // tolerated departures from the rules

	msg *pecmsg.Message
}

// Parse reads an envelope from r. When r is an *os.File, *bytes.Reader or
// another io.ReaderAt with a Size method, it is read in place: only headers,
// the certification data and the signature are held in memory, and the
// signed content is hashed as a stream. opts says how to judge trust in the
// signature (nil: integrity only, Signature.Trusted stays nil).
//
// The error is for input that is not an envelope at all (pec.ErrNotPEC,
// ErrNotEnvelope) or unreadable; defects of an envelope are in Problems.
func Parse(r io.Reader, opts *smime.VerifyOptions) (*Envelope, error) {
	src, size, err := pecmsg.Source(r)
	if err != nil {
		return nil, err
	}
	m, err := pecmsg.Parse(src, size, opts)
	if err != nil {
		return nil, err
	}
	if !m.Kind.IsEnvelope() {
		return nil, fmt.Errorf("%w (it is a %s)", ErrNotEnvelope, m.Kind)
	}
	return &Envelope{
		Kind:       m.Kind,
		Header:     mail.Header{Header: message.Header{Header: m.Header()}},
		Data:       m.Data,
		Signature:  m.Signature,
		Wrapped:    m.Wrapped,
		Problems:   m.Problems,
		Deviations: m.Deviations,
		msg:        m,
	}, nil
}

// Err returns the problems of e joined into one error, or nil.
func (e *Envelope) Err() error { return errors.Join(e.Problems...) }

// Text returns the human-readable body of the envelope, decoded to UTF-8.
func (e *Envelope) Text() string { return e.msg.TextBody() }

// HasOriginal reports whether the envelope carries the original message.
func (e *Envelope) HasOriginal() bool { return e.msg.Original != nil }

// Original returns the original message (postacert.eml, or the received
// message of an anomaly envelope) as a stream of its RFC 5322 bytes, read
// from the input as needed.
func (e *Envelope) Original() (io.Reader, error) {
	if e.msg.Original == nil {
		return nil, ErrNoOriginal
	}
	return e.msg.OriginalBody()
}

// OriginalMessage returns a reader of the original message that gives its
// header and walks its parts and attachments (go-message's mail.Reader).
func (e *Envelope) OriginalMessage() (*mail.Reader, error) {
	r, err := e.Original()
	if err != nil {
		return nil, err
	}
	return mail.CreateReader(r)
}

// OK reports whether e may be relied on as the PEC envelope it claims to
// be: its signature is intact, made by a trusted PEC provider that is its
// From address (Signature.OK), and the signed content establishes its kind
// (the signed daticert.xml of a transport envelope; an anomaly envelope is
// the one kind signed without one). Facts come from the signed content
// only: Sender, Subject and Data never take an unsigned header's word.
func (e *Envelope) OK() bool { return e.msg.Certified() }

// Sender returns the original sender from signed content: daticert
// mittente, else (an anomaly envelope) the From address of the message it
// wraps. It is "" when the signed content names none; the "Per conto di:"
// display name of the envelope's From lies outside the signature and is
// never used (see ClaimedSender).
func (e *Envelope) Sender() string {
	if e.Data != nil && e.Data.Sender != "" {
		return e.Data.Sender
	}
	if h, ok := e.msg.OriginalHeader(); ok {
		return pecmsg.FromAddress(h)
	}
	return ""
}

// ClaimedSender returns the address in the "Per conto di:" display name of
// the envelope's From field. That field is outside the signature: anyone
// who relays the envelope can rewrite it. Use Sender for evidence.
func (e *Envelope) ClaimedSender() string {
	l, err := e.Header.AddressList("From")
	if err != nil || len(l) == 0 {
		return ""
	}
	n := l[0].Name
	if i := strings.Index(strings.ToLower(n), strings.ToLower(strings.TrimSpace(pec.EnvelopeFromName))); i >= 0 {
		return strings.TrimSpace(n[i+len(strings.TrimSpace(pec.EnvelopeFromName)):])
	}
	return ""
}

// Subject returns the original subject from signed content: daticert
// oggetto, else the Subject of the message an anomaly envelope wraps
// (decoded). It is "" when the signed content carries none.
func (e *Envelope) Subject() string {
	if e.Data != nil {
		return e.Data.Subject
	}
	return originalSubject(e.msg)
}

// originalSubject returns the decoded Subject of the signed original.
func originalSubject(m *pecmsg.Message) string {
	h, ok := m.OriginalHeader()
	if !ok {
		return ""
	}
	s, err := (&mail.Header{Header: message.Header{Header: h}}).Subject()
	if err != nil {
		return h.Get("Subject")
	}
	return s
}

// CertData returns the daticert.xml part as received, decoded.
func (e *Envelope) CertData() (io.Reader, error) {
	if e.msg.CertPart == nil {
		return nil, pec.ErrNoCertData
	}
	return e.msg.CertPart.Body()
}
