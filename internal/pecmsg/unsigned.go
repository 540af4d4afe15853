package pecmsg

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"github.com/pecsdk/pec/pec"
)

// The header of a multipart/signed message lies outside the signature:
// anyone who handles the message may rewrite it. The headers that restate
// a legal fact of the certification data — the sender named in the
// envelope's From ("Per conto di: ..."), the subject, the recipients, the
// time — are compared with it here. The accessors never read them; a
// header that disagrees is a problem (pec.ErrInconsistent), so a message
// that shows a reader something its signed content does not say is not
// OK. One that cannot be decoded is only a deviation: real providers'
// headers are not always well formed, and nothing is claimed by them.

// dateSkew is how far the Date header may be from the signed time of the
// event (dati/data) before it disagrees with it. Both are taken once for
// one transaction (PEC.md §10.1); the slack covers clocks and rounding.
const dateSkew = 10 * time.Minute

// checkUnsigned compares the unsigned headers of m.Part with m.Data.
func (m *Message) checkUnsigned() {
	d := m.Data
	if d == nil {
		return
	}
	h := mail.Header{Header: message.Header{Header: m.Part.Header()}}
	m.checkOnBehalfOf(h)
	m.checkSubject(h)
	m.checkRecipients(h)
	m.checkDate(h)
}

// checkOnBehalfOf compares the sender an envelope's From display name
// names ("Per conto di: mittente", PEC.md §4) with the signed mittente.
func (m *Message) checkOnBehalfOf(h mail.Header) {
	raw := h.Get("From")
	if raw == "" || m.Data.Sender == "" {
		return
	}
	name := ""
	if l, err := h.AddressList("From"); err == nil && len(l) == 1 {
		name = l[0].Name
	} else if i := strings.Index(strings.ToLower(raw), strings.ToLower(pec.EnvelopeFromName)); i >= 0 {
		// The From field did not parse (the signature check fails closed
		// on it): still, a display name that names a sender is compared.
		name = strings.Trim(raw[i:], "\" ")
		if j := strings.IndexAny(name, "\"<"); j >= 0 {
			name = name[:j]
		}
	}
	prefix := strings.TrimSpace(pec.EnvelopeFromName)
	if len(name) < len(prefix) || !strings.EqualFold(name[:len(prefix)], prefix) {
		return
	}
	claimed := strings.Trim(strings.TrimSpace(name[len(prefix):]), "<>")
	if !strings.EqualFold(claimed, strings.TrimSpace(m.Data.Sender)) {
		m.disagree("From", fmt.Errorf("%w: From says on behalf of %q, the signed mittente is %q", pec.ErrInconsistent, claimed, m.Data.Sender))
	}
}

// checkSubject compares the Subject (its PEC prefix and the original's
// subject after it) with the kind and the signed oggetto.
func (m *Message) checkSubject(h mail.Header) {
	if h.Get("Subject") == "" {
		return // absent: it claims nothing
	}
	s, err := h.Subject()
	if err != nil {
		m.deviate("the Subject header cannot be decoded (%v): not compared with %s", err, pec.CertDataName)
		return
	}
	prefix, original, ok := pec.SplitSubject(strings.TrimLeftFunc(s, unicode.IsSpace))
	if ok && m.Kind != pec.KindUnknown && !kindHasPrefix(m.Kind, prefix) {
		m.disagree("Subject", fmt.Errorf("%w: the Subject begins %q, the signed %s is %s", pec.ErrInconsistent, prefix, pec.CertDataName, m.Kind))
	}
	if !ok {
		original = s
	}
	if normSubject(original) != normSubject(m.Data.Subject) {
		m.disagree("Subject", fmt.Errorf("%w: Subject %q, the signed oggetto %q", pec.ErrInconsistent, s, m.Data.Subject))
	}
}

// kindHasPrefix reports whether a subject prefix belongs to the family of
// k: the prefix cannot tell a virus variant, a delivery variant or a
// timeout from its siblings, and some providers use the plainer prefix.
func kindHasPrefix(k pec.Kind, prefix string) bool {
	for _, pk := range pec.KindsWithPrefix(prefix) {
		if pk == k || pk.CertType() == k.CertType() {
			return true
		}
	}
	return false
}

// normSubject folds what real providers change when they copy a subject
// into a header: case, runs of white space, control characters (which
// daticert.xml cannot hold and are replaced when it is repaired).
func normSubject(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// checkRecipients checks that every To and Cc address of a transport
// envelope is one of the signed destinatari (PEC.md §4: the envelope
// copies the original's To and Cc).
func (m *Message) checkRecipients(h mail.Header) {
	if m.Kind != pec.KindTransport || len(m.Data.Recipients) == 0 {
		return
	}
	for _, field := range []string{"To", "Cc"} {
		if h.Get(field) == "" {
			continue
		}
		l, err := h.AddressList(field)
		if err != nil {
			m.deviate("the %s header cannot be read (%v): not compared with %s", field, err, pec.CertDataName)
			continue
		}
		for _, a := range l {
			if !m.signedRecipient(a.Address) {
				m.disagree(field, fmt.Errorf("%w: %s names %s, who is not among the signed destinatari", pec.ErrInconsistent, field, a.Address))
			}
		}
	}
}

// checkDate compares the Date header with the signed time of the event.
// A difference of whole hours is reported as a deviation only: it is how
// a provider that writes its zone wrongly shows, not a claim.
func (m *Message) checkDate(h mail.Header) {
	if h.Get("Date") == "" || m.Data.Time.IsZero() {
		return
	}
	t, err := h.Date()
	if err != nil {
		m.deviate("the Date header cannot be read (%v): not compared with %s", err, pec.CertDataName)
		return
	}
	diff := t.Sub(m.Data.Time).Abs()
	if diff <= dateSkew {
		return
	}
	if hours := diff.Round(time.Hour); hours <= 2*time.Hour && (diff-hours).Abs() <= dateSkew {
		m.deviate("the Date header (%s) is %s from the signed time of the event (%s): a zone written wrongly", t.Format(time.RFC3339), hours, m.Data.Time.Format(time.RFC3339))
		return
	}
	m.disagree("Date", fmt.Errorf("%w: Date %s, the signed time of the event %s", pec.ErrInconsistent, t.Format(time.RFC3339), m.Data.Time.Format(time.RFC3339)))
}

// signedRecipient reports whether addr is one of the signed destinatari.
func (m *Message) signedRecipient(addr string) bool {
	for _, r := range m.Data.Recipients {
		if strings.EqualFold(strings.TrimSpace(r.Address), addr) {
			return true
		}
	}
	return false
}

// disagree reports that the header field contradicts the signed content:
// a problem, and the message is not Certified.
func (m *Message) disagree(field string, err error) {
	m.disagrees = true
	m.problem(m.Part, field, err)
}
