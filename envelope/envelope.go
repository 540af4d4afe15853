package envelope

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-message/mail"

	"github.com/pecsdk/pec/internal/pecmsg"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/pecmail"
)

// Envelope is a parsed transport or anomaly envelope: a view of one
// reading of the message (pecmail.Read), sharing it with any other view.
type Envelope struct {
	Kind       pec.Kind       // pec.KindTransport or pec.KindAnomaly
	Header     mail.Header    // the envelope's own header
	Data       *daticert.Data // certification data; nil for an anomaly envelope or when missing
	Signature  *smime.Verdict // nil when the envelope is not signed
	Wrapped    bool           // found inside a forwarding or archiving wrapper
	Problems   []error        // what is wrong or missing (typed; see pec.ParseError)
	Deviations []string       // tolerated departures from the rules

	msg *pecmail.Message
}

var _ pecmail.Certified = (*Envelope)(nil)

// Parse reads an envelope from r: pecmail.Read followed by Of. When r is
// an *os.File, *bytes.Reader or another io.ReaderAt with a Size method, it
// is read in place: only headers, the certification data and the
// signature are held in memory, and the signed content is hashed as a
// stream. opts says how to judge trust in the signature (nil: integrity
// only, Signature.Trusted stays nil).
//
// The error is for input that is not an envelope at all (pec.ErrNotPEC,
// ErrNotEnvelope) or unreadable; defects of an envelope are in Problems.
// To read a message that may be anything, use pecmail.Read once and Of or
// receipt.Of on its result: nothing is then parsed or verified twice.
func Parse(r io.Reader, opts *smime.VerifyOptions) (*Envelope, error) {
	m, err := pecmail.Read(r, opts)
	if err != nil {
		return nil, err
	}
	return Of(m)
}

// Of returns the envelope m is, without reading anything again: m itself,
// or the PEC message it forwards (Wrapped). The error is pec.ErrNotPEC (in
// a *pec.ParseError) when m holds no PEC message, ErrNotEnvelope when it is
// a receipt or notice.
func Of(m *pecmail.Message) (*Envelope, error) {
	p := m.PEC()
	if p == nil {
		return nil, &pec.ParseError{Offset: -1, Err: pec.ErrNotPEC}
	}
	if !p.Kind.IsEnvelope() {
		return nil, fmt.Errorf("%w (it is a %s)", ErrNotEnvelope, p.Kind)
	}
	return &Envelope{
		Kind:       p.Kind,
		Header:     *p.Header(),
		Data:       p.Data,
		Signature:  p.Signature,
		Wrapped:    p.Wrapped,
		Problems:   p.Problems,
		Deviations: p.Deviations,
		msg:        p,
	}, nil
}

// PEC returns the reading of the message e is a view of.
func (e *Envelope) PEC() *pecmail.Message { return e.msg }

// Err returns the problems of e joined into one error, or nil.
func (e *Envelope) Err() error { return errors.Join(e.Problems...) }

// Text returns the human-readable body of the envelope, transfer-decoded
// and converted from its charset (ISO-8859-1 in practice) to UTF-8.
func (e *Envelope) Text() string { return e.msg.Text() }

// HasOriginal reports whether the envelope carries the original message.
func (e *Envelope) HasOriginal() bool { return e.msg.HasOriginal() }

// Original returns the original message (postacert.eml, or the received
// message of an anomaly envelope) as a stream of its RFC 5322 bytes
// exactly as carried, read from the input as needed: no charset is
// converted.
func (e *Envelope) Original() (io.Reader, error) {
	if !e.msg.HasOriginal() {
		return nil, ErrNoOriginal
	}
	return e.msg.Original()
}

// Attachments lists the files attached to the original message, each
// opened as the bytes that were attached (transfer encoding undone, no
// charset converted); see pecmail.Message.Attachments.
func (e *Envelope) Attachments() ([]*pecmail.Attachment, error) {
	if !e.msg.HasOriginal() {
		return nil, ErrNoOriginal
	}
	return e.msg.Attachments()
}

// OriginalMessage returns a reader of the original message that gives its
// header and walks its parts and attachments (go-message's mail.Reader).
// Beware: mail.Reader converts the body of every text/* part, attachments
// included, from its charset to UTF-8, and reports an unknown charset as
// an error; for attached files byte for byte, use Attachments.
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
// the one kind signed without one), and no header outside the signature
// contradicts it (the sender named in From, Subject, To, Cc, Date: a
// pec.ErrInconsistent problem). Facts come from the signed content only:
// Sender, Subject and Data never take an unsigned header's word.
func (e *Envelope) OK() bool { return e.msg.OK() }

// Sender returns the original sender as certified: the signed daticert
// mittente of a transport envelope; "" when there is none, as in an
// anomaly envelope, whose wrapped message was never authenticated (see
// ClaimedSender).
func (e *Envelope) Sender() string {
	if e.Data != nil {
		return e.Data.Sender
	}
	return ""
}

// ClaimedSender returns the sender the message claims, which nobody
// certified: for an anomaly envelope, the From address of the ordinary
// message it wraps, as the provider received it; otherwise the address in
// the "Per conto di:" display name of the envelope's From field, which is
// outside the signature. Neither is evidence: use Sender.
func (e *Envelope) ClaimedSender() string {
	if e.Kind == pec.KindAnomaly && e.Data == nil {
		if h, ok := e.msg.OriginalHeader(); ok {
			return pecmsg.FromAddress(h.Header.Header)
		}
	}
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

// Subject returns the original subject from signed content, decoded to
// UTF-8: daticert oggetto, else the Subject of the message an anomaly
// envelope wraps. It is "" when the signed content carries none.
func (e *Envelope) Subject() string { return e.msg.Subject() }

// CertData returns the daticert.xml part with its transfer encoding
// undone: the bytes as signed, not charset-converted.
func (e *Envelope) CertData() (io.Reader, error) { return e.msg.CertData() }
