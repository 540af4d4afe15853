package pecmsg

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pecsdk/pec/pec"
)

// The header of a multipart/signed message lies outside the signature:
// anyone who handles the message may rewrite it. The fields that restate
// a legal fact of the certification data, or that a reader's mail client
// shows as one — the sender (From, Sender, "Per conto di: ..."), the
// addresses for replies, the subject, the recipients, the time — are
// compared with it here. The accessors never read them; a field that
// disagrees is a problem (pec.ErrInconsistent), so a message that shows a
// reader something its signed content does not say is not OK.
//
// Real providers' headers are not always well formed: a field that does
// not parse is read leniently (its addresses, the encoded words that
// decode), and what can be read of it is compared. A word in an unknown
// charset stands for any text; a field of which nothing can be read is a
// deviation, as it shows a reader nothing either.

// dateSkew is how far the Date header may be from the signed time of the
// event (dati/data) before it disagrees with it. Both are taken for one
// transaction (PEC.md §10.1): the slack covers a provider that dates the
// header and the certification data a little apart, and rounding.
const dateSkew = 2 * time.Minute

// maxListed bounds the addresses a problem lists.
const maxListed = 3

// The header fields a message has at most once (RFC 5322 §3.6, and the
// PEC fields of PEC.md §4). Two of them with different values show a
// reader one of the two, and the checks below would read the other.
var singletonFields = [...]string{
	fieldFrom:     "From",
	fieldSender:   "Sender",
	fieldReplyTo:  "Reply-To",
	fieldTo:       "To",
	fieldCc:       "Cc",
	fieldSubject:  "Subject",
	fieldDate:     "Date",
	fieldMsgID:    "Message-Id",
	fieldRef:      pec.HeaderReference,
	fieldTrans:    pec.HeaderTransport,
	fieldReceipt:  pec.HeaderReceipt,
	fieldSecurity: pec.HeaderSecurityCheck,
	fieldType:     pec.HeaderReceiptType,
	fieldOrigFrom: pec.HeaderOriginalSender,
}

const (
	fieldFrom = iota
	fieldSender
	fieldReplyTo
	fieldTo
	fieldCc
	fieldSubject
	fieldDate
	fieldMsgID
	fieldRef
	fieldTrans
	fieldReceipt
	fieldSecurity
	fieldType
	fieldOrigFrom
	nFields
)

// checkUnsigned compares the unsigned header of m.Part with m.Data.
func (m *Message) checkUnsigned() {
	if m.Data == nil {
		return
	}
	var (
		values [nFields]string
		count  [nFields]int
		differ [nFields]bool
	)
	m.Part.Fields(func(name, value string) bool {
		for i, k := range singletonFields {
			if len(name) == len(k) && strings.EqualFold(name, k) {
				if count[i] == 0 {
					values[i] = value
				} else if value != values[i] {
					differ[i] = true
				}
				count[i]++
				break
			}
		}
		return true
	})
	for i, k := range singletonFields {
		if differ[i] {
			m.disagree(k, fmt.Errorf("%w: %d %s fields that differ: a reader is shown one of them, none is signed", pec.ErrInconsistent, count[i], k))
		}
	}
	from := m.checkFrom(values[fieldFrom])
	m.checkSender(values[fieldSender], from)
	m.checkReplyTo(values[fieldReplyTo], from)
	m.checkSubject(values[fieldSubject])
	if m.Kind == pec.KindTransport && len(m.Data.Recipients) > 0 {
		set := make(map[string]bool, len(m.Data.Recipients))
		for _, r := range m.Data.Recipients {
			set[normAddr(r.Address)] = true
		}
		m.checkRecipients("To", values[fieldTo], set)
		m.checkRecipients("Cc", values[fieldCc], set)
	}
	m.checkDate(values[fieldDate])
}

// checkFrom checks what the From field shows besides its address (which
// the signature check compares with the signer's certificate): one
// mailbox, and a display name that names no one but the signed sender.
// A transport envelope's display name is "Per conto di: mittente" (PEC.md
// §4) or nothing. It returns the From address, "" when none was read.
func (m *Message) checkFrom(v string) string {
	if v == "" {
		return ""
	}
	l := readAddresses(v)
	switch {
	case len(l) == 0:
		m.deviate("the From header cannot be read: not compared with %s", pec.CertDataName)
		return ""
	case len(l) > 1:
		m.disagree("From", fmt.Errorf("%w: From names %d mailboxes, a PEC message is from its provider's alone", pec.ErrInconsistent, len(l)))
	}
	from := l[0]
	if m.Kind == pec.KindTransport && !m.namesSender(from) {
		m.disagree("From", fmt.Errorf("%w: From shows %q, a transport envelope shows its signed mittente %q (%q) or nothing", pec.ErrInconsistent, from.name.text(), m.Data.Sender, pec.EnvelopeFromName+m.Data.Sender))
		return from.addr
	}
	m.checkName("From", from, from.addr)
	return from.addr
}

// namesSender reports whether the display name of an envelope's From is
// empty, the From address itself, the signed mittente, or "Per conto di: "
// and the mittente, in any case, spacing and quoting.
func (m *Message) namesSender(mb mailbox) bool {
	if mb.name.wild() {
		return false
	}
	n := normSubject(mb.name.text())
	if n == "" {
		return true
	}
	prefix := strings.ToLower(strings.TrimSpace(pec.EnvelopeFromName)) // "per conto di:"
	prefix = strings.TrimSuffix(prefix, ":")
	if rest, ok := strings.CutPrefix(n, prefix); ok {
		rest = strings.TrimPrefix(rest, ":")
		n = strings.TrimSpace(rest)
	}
	n = normAddr(strings.Trim(n, "<> "))
	return n == normAddr(m.Data.Sender) || n == normAddr(mb.addr)
}

// checkName checks that the display name of mb, in field, names no
// address but mb's own, the signed sender, or also.
func (m *Message) checkName(field string, mb mailbox, also string) {
	if mb.name.wild() {
		m.deviate("the display name of %s has words in an unknown charset: not all of it compared with %s", field, pec.CertDataName)
	}
	for _, piece := range mb.name {
		for _, a := range nameAddresses(piece) {
			if n := normAddr(a); n != normAddr(mb.addr) && n != normAddr(m.Data.Sender) && n != normAddr(also) {
				m.disagree(field, fmt.Errorf("%w: the display name of %s names %s, who is neither its address nor the signed mittente %q", pec.ErrInconsistent, field, a, m.Data.Sender))
				return
			}
		}
	}
}

// checkSender checks the Sender field: when present, the From address
// (RFC 5322 §3.6.2; PEC.md §4), with a display name that names no one
// else.
func (m *Message) checkSender(v, from string) {
	if v == "" {
		return
	}
	l := readAddresses(v)
	if len(l) != 1 || (from != "" && normAddr(l[0].addr) != normAddr(from)) {
		m.disagree("Sender", fmt.Errorf("%w: Sender %q, the message is from %q", pec.ErrInconsistent, v, from))
		return
	}
	m.checkName("Sender", l[0], from)
}

// checkReplyTo checks that the Reply-To field sends replies to no one but
// the signed risposte (the original's Reply-To, or its sender: PEC.md §4)
// or the signed mittente.
func (m *Message) checkReplyTo(v, from string) {
	if v == "" {
		return
	}
	allowed := []string{normAddr(m.Data.Sender), normAddr(from)}
	for _, mb := range readAddresses(m.Data.ReplyTo) {
		allowed = append(allowed, normAddr(mb.addr))
	}
	l := readAddresses(v)
	if len(l) == 0 {
		m.deviate("the Reply-To header cannot be read: not compared with %s", pec.CertDataName)
		return
	}
	var other []string
	for _, mb := range l {
		if !contains(allowed, normAddr(mb.addr)) {
			other = append(other, mb.addr)
		}
		for _, piece := range mb.name {
			for _, a := range nameAddresses(piece) {
				if n := normAddr(a); n != normAddr(mb.addr) && !contains(allowed, n) {
					other = append(other, a)
				}
			}
		}
	}
	if len(other) > 0 {
		m.disagree("Reply-To", fmt.Errorf("%w: Reply-To names %s, the signed risposte is %q and the mittente %q", pec.ErrInconsistent, listed(other), m.Data.ReplyTo, m.Data.Sender))
	}
}

// checkSubject compares the Subject (its PEC prefix and the original's
// subject after it) with the kind and the signed oggetto.
func (m *Message) checkSubject(v string) {
	if v == "" {
		return // absent: it claims nothing
	}
	t := decodeText(v)
	head := strings.TrimLeftFunc(t[0], unicode.IsSpace)
	prefix, original, ok := pec.SplitSubject(head)
	if !ok {
		// "POSTA CERTIFICATA:" with an empty subject after it: the space
		// that ends the prefix was trimmed with the line.
		if p, o, ok2 := pec.SplitSubject(strings.TrimRightFunc(head, unicode.IsSpace) + " "); ok2 && o == "" && len(t) == 1 {
			prefix, original, ok = p, o, true
		}
	}
	if ok && m.Kind != pec.KindUnknown && !kindHasPrefix(m.Kind, prefix) {
		m.disagree("Subject", fmt.Errorf("%w: the Subject begins %q, the signed %s is %s", pec.ErrInconsistent, prefix, pec.CertDataName, m.Kind))
	}
	if !ok && t.wild() {
		m.disagree("Subject", fmt.Errorf("%w: the Subject %q cannot be read and shows no prefix of a PEC message", pec.ErrInconsistent, v))
		return
	}
	t[0] = original
	if !t.matches(m.Data.Subject) {
		m.disagree("Subject", fmt.Errorf("%w: Subject %q, the signed oggetto %q", pec.ErrInconsistent, v, m.Data.Subject))
		return
	}
	if t.wild() {
		m.deviate("the Subject has words in an unknown charset: the rest of it was compared with %s", pec.CertDataName)
	}
}

// kindHasPrefix reports whether a subject prefix may stand for k: its
// own, or, for a virus variant, the plainer prefix of the same notice,
// which some providers use. A prefix that claims more than k (a virus on
// a notice that names none) does not.
func kindHasPrefix(k pec.Kind, prefix string) bool {
	for _, pk := range pec.KindsWithPrefix(prefix) {
		if pk == k || (k.SecurityError() && !pk.SecurityError() && pk.CertType() == k.CertType()) {
			return true
		}
	}
	return false
}

// normSubject folds what real providers change when they copy a subject
// into a header: case, runs of white space, control characters (which
// daticert.xml cannot hold and are replaced when it is repaired), Unicode
// composition (NFC).
func normSubject(s string) string {
	s = nfc(s)
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

// checkRecipients checks that every address an envelope's To or Cc shows
// (as an address or in a display name) is one of the signed destinatari
// (PEC.md §4: the envelope copies the original's To and Cc). set holds
// them, normalised.
func (m *Message) checkRecipients(field, v string, set map[string]bool) {
	if v == "" {
		return
	}
	l := readAddresses(v)
	if len(l) == 0 {
		m.deviate("the %s header cannot be read: not compared with %s", field, pec.CertDataName)
		return
	}
	var other []string
	for _, mb := range l {
		if !set[normAddr(mb.addr)] {
			other = append(other, mb.addr)
		}
		for _, piece := range mb.name {
			for _, a := range nameAddresses(piece) {
				if n := normAddr(a); n != normAddr(mb.addr) && !set[n] {
					other = append(other, a)
				}
			}
		}
	}
	if len(other) > 0 {
		m.disagree(field, fmt.Errorf("%w: %s names %s, not among the signed destinatari", pec.ErrInconsistent, field, listed(other)))
	}
}

// checkDate compares the Date header with the signed time of the event.
// A Date with the same wall clock as the signed giorno and ora and
// another zone is a deviation only: it is how a provider that writes its
// zone wrongly shows, and the signed time is the one shown beside it.
func (m *Message) checkDate(v string) {
	if v == "" || m.Data.Time.IsZero() {
		return
	}
	t, ok := parseDate(v)
	if !ok {
		m.deviate("the Date header %q cannot be read: not compared with %s", v, pec.CertDataName)
		return
	}
	if t.Sub(m.Data.Time).Abs() <= dateSkew {
		return
	}
	if wall(t).Sub(wall(m.Data.Time)).Abs() <= dateSkew {
		m.deviate("the Date header (%s) has the wall clock of the signed time of the event (%s) in another zone", t.Format(time.RFC3339), m.Data.Time.Format(time.RFC3339))
		return
	}
	m.disagree("Date", fmt.Errorf("%w: Date %s, the signed time of the event %s", pec.ErrInconsistent, t.Format(time.RFC3339), m.Data.Time.Format(time.RFC3339)))
}

// wall returns the wall clock of t, as if written in UTC.
func wall(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), time.UTC)
}

// disagree reports that the header field contradicts the signed content:
// a problem, and the message is not Certified.
func (m *Message) disagree(field string, err error) {
	m.disagrees = true
	m.problem(m.Part, field, err)
}

// listed formats the first maxListed of l, and how many more.
func listed(l []string) string {
	if len(l) <= maxListed {
		return strings.Join(l, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(l[:maxListed], ", "), len(l)-maxListed)
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x != "" && x == s {
			return true
		}
	}
	return false
}

// nameAddresses returns the words of a display name that look like
// addresses: those with an "@".
func nameAddresses(name string) []string {
	if !strings.Contains(name, "@") {
		return nil
	}
	var out []string
	for _, w := range strings.FieldsFunc(name, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune("<>\"'(),;:[]", r)
	}) {
		if strings.Contains(w, "@") {
			out = append(out, strings.TrimRight(w, "."))
		}
	}
	return out
}

// normAddr is the form in which two addresses are compared: without
// surrounding white space and angle brackets, the local part unquoted,
// both parts in lower case (as PEC providers treat them), the domain
// without a final dot.
func normAddr(a string) string {
	a = strings.Trim(strings.TrimSpace(a), "<>")
	at := strings.LastIndexByte(a, '@')
	if at < 0 {
		return strings.ToLower(a)
	}
	local, domain := a[:at], strings.TrimSuffix(a[at+1:], ".")
	if len(local) >= 2 && local[0] == '"' && local[len(local)-1] == '"' {
		local = unquote(local[1 : len(local)-1])
	}
	if !utf8.ValidString(local) || !utf8.ValidString(domain) {
		return strings.ToLower(a)
	}
	return strings.ToLower(local) + "@" + strings.ToLower(domain)
}

// unquote removes the backslashes of a quoted string's quoted pairs.
func unquote(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
