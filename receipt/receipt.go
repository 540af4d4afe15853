package receipt

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/emersion/go-message/mail"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/pecmail"
)

// Receipt is a parsed receipt or notice: a view of one reading of the
// message (pecmail.Read), sharing it with any other view.
type Receipt struct {
	Kind       pec.Kind       // one of the 12 receipt and notice kinds
	Header     mail.Header    // the receipt's own header
	Data       *daticert.Data // certification data; nil when missing (see Problems)
	Signature  *smime.Verdict // nil when the receipt is not signed
	Error      *pec.Error     // the failure a notice reports; nil for positive receipts
	Hashes     []Hash         // attachments replaced by hashes (breve delivery receipt)
	Wrapped    bool           // found inside a forwarding or archiving wrapper
	Problems   []error        // what is wrong or missing (typed; see pec.ParseError)
	Deviations []string       // tolerated departures from the rules

	msg *pecmail.Message
}

var _ pecmail.Certified = (*Receipt)(nil)

// Hash is an attachment of the original replaced by its hash in a delivery
// receipt of type breve (PEC.md §6.7).
type Hash struct {
	Name string // attachment name, without the .hash suffix
	Hex  string // lower-case hexadecimal SHA-1 (40) or SHA-256 (64)
}

// Parse reads a receipt or notice from r: pecmail.Read followed by Of; see
// envelope.Parse for how r is read and what opts does. The error is for
// input that is not a receipt at all (pec.ErrNotPEC, ErrNotReceipt) or
// unreadable; defects are in Problems. To read a message that may be
// anything, use pecmail.Read once and Of or envelope.Of on its result.
func Parse(r io.Reader, opts *smime.VerifyOptions) (*Receipt, error) {
	m, err := pecmail.Read(r, opts)
	if err != nil {
		return nil, err
	}
	return Of(m)
}

// Of returns the receipt or notice m is, without reading anything again:
// m itself, or the PEC message it forwards (Wrapped). The error is
// pec.ErrNotPEC (in a *pec.ParseError) when m holds no PEC message,
// ErrNotReceipt when it is an envelope or of no known kind.
func Of(m *pecmail.Message) (*Receipt, error) {
	p := m.PEC()
	if p == nil {
		return nil, &pec.ParseError{Offset: -1, Err: pec.ErrNotPEC}
	}
	if !p.Kind.IsReceipt() {
		return nil, fmt.Errorf("%w (it is a %s)", ErrNotReceipt, p.Kind)
	}
	rc := &Receipt{
		Kind:       p.Kind,
		Header:     *p.Header(),
		Data:       p.Data,
		Signature:  p.Signature,
		Wrapped:    p.Wrapped,
		Problems:   p.Problems,
		Deviations: p.Deviations,
		msg:        p,
	}
	for _, h := range p.Hashes {
		rc.Hashes = append(rc.Hashes, Hash{Name: h.Name, Hex: h.Hex})
	}
	if isFailure(p.Kind) {
		rc.Error = &pec.Error{Kind: p.Kind}
		if d := p.Data; d != nil {
			rc.Error.Code = d.Error
			rc.Error.Extended = d.ExtendedError
			rc.Error.Recipient = d.Delivery
			if rc.Error.Recipient == "" && p.Kind == pec.KindVirusDetected && len(d.Receipts) == 1 {
				// QUIRK: provider specifications before 2.1 named the
				// recipient of rilevazione-virus in ricezione (PEC.md §17 item 21).
				rc.Error.Recipient = d.Receipts[0]
			}
		}
	}
	return rc, nil
}

// PEC returns the reading of the message r is a view of.
func (r *Receipt) PEC() *pecmail.Message { return r.msg }

func isFailure(k pec.Kind) bool {
	switch k {
	case pec.KindNonAcceptance, pec.KindNonAcceptanceVirus, pec.KindDeliveryError,
		pec.KindDeliveryErrorVirus, pec.KindVirusDetected,
		pec.KindDeliveryTimeout12h, pec.KindDeliveryTimeout24h:
		return true
	}
	return false
}

// Err returns the failure the notice reports (a *pec.Error) joined with
// the problems found in it, or nil.
func (r *Receipt) Err() error {
	var errs []error
	if r.Error != nil {
		errs = append(errs, r.Error)
	}
	return errors.Join(append(errs, r.Problems...)...)
}

// Text returns the human-readable body, transfer-decoded and converted
// from its charset (ISO-8859-1 in practice) to UTF-8.
func (r *Receipt) Text() string { return r.msg.Text() }

// HasOriginal reports whether the receipt carries the original message
// (delivery receipts completa and breve).
func (r *Receipt) HasOriginal() bool { return r.msg.HasOriginal() }

// Original returns the original message carried by a completa or breve
// delivery receipt, as a stream of its RFC 5322 bytes exactly as carried:
// no charset is converted.
func (r *Receipt) Original() (io.Reader, error) {
	if !r.msg.HasOriginal() {
		return nil, ErrNoOriginal
	}
	return r.msg.Original()
}

// Attachments lists the files attached to the original message of a
// completa or breve delivery receipt (in a breve one, the .hash parts
// that replace them), each opened as the bytes that were attached
// (transfer encoding undone, no charset converted); see
// pecmail.Message.Attachments.
func (r *Receipt) Attachments() ([]*pecmail.Attachment, error) {
	if !r.msg.HasOriginal() {
		return nil, ErrNoOriginal
	}
	return r.msg.Attachments()
}

// OriginalMessage returns a reader of the original message that gives its
// header and walks its parts (go-message's mail.Reader). Beware:
// mail.Reader converts the body of every text/* part, attachments
// included, from its charset to UTF-8, and reports an unknown charset as
// an error; for attached files byte for byte, use Attachments.
func (r *Receipt) OriginalMessage() (*mail.Reader, error) {
	o, err := r.Original()
	if err != nil {
		return nil, err
	}
	return mail.CreateReader(o)
}

// OK reports whether r may be relied on as the receipt it claims to be:
// its signature is intact, made by a trusted PEC provider that is its From
// address (Signature.OK), and its signed daticert.xml establishes its kind
// (including the virus variants, never taken from the unsigned
// X-VerificaSicurezza), and no header outside the signature contradicts
// it (Subject, Date, the identifiers: a pec.ErrInconsistent problem).
// Whether it concerns a given sent message is the caller's check: compare
// Data (msgid, mittente, destinatari, identificativo) with that message,
// as the client's tracker does.
func (r *Receipt) OK() bool { return r.msg.OK() }

// Subject returns the original subject, decoded to UTF-8, from the
// signed daticert oggetto, else from the signed original message a
// complete delivery receipt carries; "" when the signed content carries
// none. The receipt's own Subject field is outside the signature and is
// never used.
func (r *Receipt) Subject() string { return r.msg.Subject() }

// CheckAttachment reports whether content, an attachment the sender kept,
// is the one whose hash the breve receipt lists under name (PEC.md §15.5).
// Providers differ on what they hash (PEC.md §17 item 10): the decoded
// bytes and their base64 form are both tried, with SHA-1 or SHA-256 as the
// length of the listed hash says. ok is false, with no error, when the
// hash differs; the error reports a name not in the receipt or a read error.
func (r *Receipt) CheckAttachment(name string, content io.Reader) (ok bool, err error) {
	var want string
	for _, h := range r.Hashes {
		if h.Name != name {
			continue
		}
		if want != "" {
			// Two hashes under one name: which one vouches for what
			// cannot be told.
			return false, fmt.Errorf("receipt: attachment %q is listed more than once among the hashes", name)
		}
		want = h.Hex
	}
	if want == "" {
		return false, fmt.Errorf("receipt: no hash for attachment %q", name)
	}
	newHash := sha1.New
	if len(want) == 64 {
		newHash = sha256.New
	}
	raw, b64 := newHash(), newHash()
	enc := base64.NewEncoder(base64.StdEncoding, &lineWrapper{w: b64})
	if _, err := io.Copy(io.MultiWriter(raw, enc), content); err != nil {
		return false, err
	}
	enc.Close()
	return hexEq(raw, want) || hexEq(b64, want), nil
}

func hexEq(h hash.Hash, want string) bool {
	return strings.EqualFold(hex.EncodeToString(h.Sum(nil)), want)
}

// lineWrapper breaks base64 text into 76-character CRLF lines, as MIME
// encoders write it (RFC 2045 §6.8).
type lineWrapper struct {
	w   io.Writer
	col int
}

func (l *lineWrapper) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(76-l.col, len(p))
		if _, err := l.w.Write(p[:k]); err != nil {
			return 0, err
		}
		l.col += k
		p = p[k:]
		if l.col == 76 {
			l.w.Write([]byte("\r\n"))
			l.col = 0
		}
	}
	return n, nil
}

// CertData returns the daticert.xml part with its transfer encoding
// undone: the bytes as signed, not charset-converted.
func (r *Receipt) CertData() (io.Reader, error) { return r.msg.CertData() }
