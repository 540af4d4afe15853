package pecmsg

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/pecsdk/pec/internal/mimeutil"
	"github.com/pecsdk/pec/pec"
)

// The header of a multipart/signed message lies outside the signature:
// anyone who handles the message may rewrite it. The fields that restate
// a legal fact of the certification data, or that a reader's mail client
// shows or acts on as one — the sender (From, Sender, "Per conto di:
// ..."), where replies go, the subject, the recipients, the time — are
// compared with it here. The accessors never read them; a field that
// disagrees is a problem (pec.ErrInconsistent), so a message that shows a
// reader something its signed content does not say is not OK.
//
// A transport envelope copies the original's To, Cc and Reply-To, and its
// subject after the prefix (PEC.md §4); the original is signed
// (postacert.eml). A field the same as the signed original's says what
// the sender wrote, and is not compared further: display names that name
// other addresses, charsets this package cannot read, are the sender's.
//
// Real providers' headers are not always well formed: a field that does
// not parse is read leniently (its addresses, the encoded words that
// decode), and what can be read of it is compared. What cannot be read —
// a word in an unknown charset, a date in no form of RFC 5322 — is a
// claim no one can check, and disagrees too: a reader's client may show
// it otherwise.

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
	fieldBcc:      "Bcc",
	fieldSubject:  "Subject",
	fieldDate:     "Date",
	fieldMsgID:    "Message-Id",
	fieldMailRT:   "Mail-Reply-To",
	fieldMailFT:   "Mail-Followup-To",
	fieldDNT:      "Disposition-Notification-To",
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
	fieldBcc
	fieldSubject
	fieldDate
	fieldMsgID
	fieldMailRT
	fieldMailFT
	fieldDNT
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
		broken []string
	)
	m.Part.RawFields(func(name string, raw mimeutil.RawValue) bool {
		if len(broken) < maxListed && raw.ContainsAny("\r\x00") {
			broken = append(broken, name)
		}
		for i, k := range singletonFields {
			if len(name) == len(k) && strings.EqualFold(name, k) {
				value := raw.String()
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
	for _, name := range broken {
		m.disagree(name, fmt.Errorf("%w: the %s field holds a bare CR or a NUL, where mail clients end it or cut it", pec.ErrInconsistent, name))
	}
	for i, k := range singletonFields {
		if differ[i] {
			m.disagree(k, fmt.Errorf("%w: %d %s fields that differ: a reader is shown one of them, none is signed", pec.ErrInconsistent, count[i], k))
		}
	}
	if count[fieldBcc] > 0 {
		m.disagree("Bcc", fmt.Errorf("%w: a PEC message has no Bcc (PEC.md §4); it names recipients nothing signed names", pec.ErrInconsistent))
	}
	orig := m.signedOriginal()
	from := m.checkFrom(values[fieldFrom])
	m.checkSender(values[fieldSender], from)
	replies := m.replyAddresses(from)
	for _, i := range []int{fieldReplyTo, fieldMailRT, fieldDNT} {
		m.checkAddresses(singletonFields[i], values[i], orig, replies, "the signed risposte, the mittente or the provider")
	}
	everyone := slices.Clone(replies)
	for _, r := range m.Data.Recipients {
		everyone = append(everyone, normAddr(r.Address))
	}
	m.checkAddresses(singletonFields[fieldMailFT], values[fieldMailFT], orig, everyone, "the signed mittente, risposte or destinatari")
	m.checkSubject(values[fieldSubject], orig)
	if m.Kind == pec.KindTransport && len(m.Data.Recipients) > 0 {
		var dest []string
		for _, r := range m.Data.Recipients {
			dest = append(dest, normAddr(r.Address))
		}
		m.checkAddresses("To", values[fieldTo], orig, dest, "the signed destinatari")
		m.checkAddresses("Cc", values[fieldCc], orig, dest, "the signed destinatari")
	}
	m.checkDate(values[fieldDate])
}

// signedOriginal returns the signed original's header fields (the
// postacert.eml a transport envelope or a delivery receipt carries), nil
// when there is none.
func (m *Message) signedOriginal() func(name string) (string, bool) {
	if m.Original == nil || m.Original.Embedded == nil || m.SigPart == nil {
		return nil
	}
	o := m.Original.Embedded
	return func(name string) (string, bool) {
		v, found := "", false
		o.Fields(func(n, value string) bool {
			if len(n) == len(name) && strings.EqualFold(n, name) {
				v, found = value, true
				return false
			}
			return true
		})
		return v, found
	}
}

// replyAddresses returns, normalised, the addresses replies may go to:
// the signed risposte (the original's Reply-To, or its sender: PEC.md
// §4), the signed mittente, the From address.
func (m *Message) replyAddresses(from string) []string {
	out := []string{normAddr(m.Data.Sender), normAddr(from)}
	for _, mb := range readAddresses(m.Data.ReplyTo, m.addressList).boxes {
		out = append(out, normAddr(mb.addr))
	}
	return out
}

// checkFrom checks what the From field shows besides its address (which
// the signature check compares with the signer's certificate): one
// mailbox, no group, and a display name read whole that names no one but
// the signed sender. A transport envelope's display name is "Per conto
// di: mittente" (PEC.md §4) or nothing. It returns the From address, ""
// when none was read.
func (m *Message) checkFrom(v string) string {
	if v == "" {
		return ""
	}
	f := readAddresses(v, m.addressList)
	switch {
	case len(f.groups) > 0:
		m.disagree("From", fmt.Errorf("%w: From holds a group (%q), which RFC 5322 does not allow there and a reader is shown as a name", pec.ErrInconsistent, f.groups[0]))
	case len(f.boxes) > 1:
		m.disagree("From", fmt.Errorf("%w: From names %d mailboxes, a PEC message is from its provider's alone", pec.ErrInconsistent, len(f.boxes)))
	}
	if len(f.boxes) == 0 {
		m.deviate("the From header cannot be read: not compared with %s", pec.CertDataName)
		return ""
	}
	from := f.boxes[0]
	if m.Kind == pec.KindTransport && !m.namesSender(from) {
		m.disagree("From", fmt.Errorf("%w: From shows %q, a transport envelope shows its signed mittente %q (%q) or nothing", pec.ErrInconsistent, from.name, m.Data.Sender, pec.EnvelopeFromName+m.Data.Sender))
		return from.addr
	}
	m.checkName("From", from, []string{normAddr(from.addr), normAddr(m.Data.Sender)})
	return from.addr
}

// namesSender reports whether the display name of an envelope's From is
// empty, the From address itself, the signed mittente, or "Per conto di: "
// and the mittente, in any case, spacing and quoting.
func (m *Message) namesSender(mb mailbox) bool {
	if !mb.nameOK {
		return false
	}
	n := normSubject(norm.NFKC.String(mb.name))
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

// checkName checks that the display name of mb, in field, was read whole
// and names no address but those of allowed (normalised).
func (m *Message) checkName(field string, mb mailbox, allowed []string) {
	if !mb.nameOK {
		m.disagree(field, fmt.Errorf("%w: the display name of %s (%q) has words in a charset that cannot be read: a reader may be shown anything", pec.ErrInconsistent, field, mb.name))
		return
	}
	if a := otherAddress(mb.name, allowed); a != "" {
		m.disagree(field, fmt.Errorf("%w: the display name of %s names %s, who is neither its address nor the signed mittente %q", pec.ErrInconsistent, field, a, m.Data.Sender))
	}
}

// otherAddress returns the first address name shows that is not among
// allowed (normalised), "" when there is none. Look-alikes of "@" and of
// the letters of an address are folded first (NFKC).
func otherAddress(name string, allowed []string) string {
	for _, a := range nameAddresses(norm.NFKC.String(name)) {
		if !contains(allowed, normAddr(a)) {
			return a
		}
	}
	return ""
}

// checkSender checks the Sender field: when present, the From address
// (RFC 5322 §3.6.2; PEC.md §4), with a display name that names no one
// else.
func (m *Message) checkSender(v, from string) {
	if v == "" {
		return
	}
	f := readAddresses(v, m.addressList)
	if len(f.boxes) != 1 || len(f.groups) > 0 || (from != "" && normAddr(f.boxes[0].addr) != normAddr(from)) {
		m.disagree("Sender", fmt.Errorf("%w: Sender %q, the message is from %q", pec.ErrInconsistent, v, from))
		return
	}
	m.checkName("Sender", f.boxes[0], []string{normAddr(from), normAddr(m.Data.Sender)})
}

// checkAddresses checks an address-list field: unless it is the signed
// original's own, every address it shows — as an address, in a display
// name or in a group's name — must be among allowed (normalised), and
// every name must be read whole; what is allowed is said by what.
func (m *Message) checkAddresses(field, v string, orig func(string) (string, bool), allowed []string, what string) {
	if v == "" {
		return
	}
	if orig != nil {
		if o, ok := orig(field); ok && sameField(v, o) {
			return
		}
	}
	f := readAddresses(v, m.addressList)
	if len(f.boxes) == 0 && len(f.groups) == 0 {
		m.disagree(field, fmt.Errorf("%w: the %s field (%q) cannot be read: a reader may be shown anything", pec.ErrInconsistent, field, v))
		return
	}
	var other []string
	unread := !f.groupsOK
	for _, g := range f.groups {
		if a := otherAddress(g, allowed); a != "" {
			other = append(other, a)
		}
	}
	for _, mb := range f.boxes {
		own := normAddr(mb.addr)
		if !contains(allowed, own) {
			other = append(other, mb.addr)
		}
		unread = unread || !mb.nameOK
		if a := otherAddress(mb.name, append(allowed[:len(allowed):len(allowed)], own)); a != "" {
			other = append(other, a)
		}
	}
	if unread {
		m.disagree(field, fmt.Errorf("%w: a display name of %s has words in a charset that cannot be read: a reader may be shown anything", pec.ErrInconsistent, field))
	}
	if len(other) > 0 {
		m.disagree(field, fmt.Errorf("%w: %s names %s, not among %s", pec.ErrInconsistent, field, listed(other), what))
	}
}

// checkSubject compares the Subject (its PEC prefix and the original's
// subject after it) with the kind and the signed oggetto, or with the
// signed original's Subject as written.
func (m *Message) checkSubject(v string, orig func(string) (string, bool)) {
	if v == "" {
		return // absent: it claims nothing
	}
	if p, rest, ok := pec.SplitSubject(strings.TrimLeftFunc(v, unicode.IsSpace)); ok && orig != nil {
		if o, found := orig("Subject"); found && sameField(rest, o) {
			m.checkPrefix(p)
			return
		}
	}
	s, readable := decodeText(v)
	if !readable {
		m.disagree("Subject", fmt.Errorf("%w: the Subject %q has words in a charset that cannot be read: a reader may be shown anything", pec.ErrInconsistent, v))
		return
	}
	head := strings.TrimLeftFunc(s, unicode.IsSpace)
	prefix, original, ok := pec.SplitSubject(head)
	if !ok {
		// "POSTA CERTIFICATA:" with an empty subject after it: the space
		// that ends the prefix was trimmed with the line.
		if p, o, ok2 := pec.SplitSubject(strings.TrimRightFunc(head, unicode.IsSpace) + " "); ok2 && o == "" {
			prefix, original, ok = p, o, true
		}
	}
	if ok {
		m.checkPrefix(prefix)
	} else {
		original = s
	}
	if normSubject(original) != normSubject(m.Data.Subject) {
		m.disagree("Subject", fmt.Errorf("%w: Subject %q, the signed oggetto %q", pec.ErrInconsistent, s, m.Data.Subject))
	}
}

// checkPrefix checks that a subject prefix may stand for the signed kind.
func (m *Message) checkPrefix(prefix string) {
	if m.Kind != pec.KindUnknown && !kindHasPrefix(m.Kind, prefix) {
		m.disagree("Subject", fmt.Errorf("%w: the Subject begins %q, the signed %s is %s", pec.ErrInconsistent, prefix, pec.CertDataName, m.Kind))
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
// into a header: case, runs of white space, control characters and the
// replacement character (daticert.xml cannot hold the controls, and a
// repaired one holds U+FFFD in their place), Unicode composition (NFC).
// A bare CR or a NUL in a header field, which clients would show apart,
// is refused before (checkUnsigned).
func normSubject(s string) string {
	s = nfc(s)
	var b strings.Builder
	b.Grow(len(s))
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

// checkDate compares the Date header with the signed time of the event.
// A Date with the wall clock of the signed giorno and ora, written in UTC
// or in the other zone of Italian legal time (+0000, +0100, +0200), is a
// deviation only: it is how a provider that writes its zone wrongly
// shows. A Date in no form of RFC 5322 disagrees: clients show such dates
// as best they can, which may be any time.
func (m *Message) checkDate(v string) {
	if v == "" || m.Data.Time.IsZero() {
		return
	}
	t, ok := parseDate(v)
	if !ok {
		m.disagree("Date", fmt.Errorf("%w: the Date %q is in no form of RFC 5322: a reader may be shown any time", pec.ErrInconsistent, v))
		return
	}
	if t.Sub(m.Data.Time).Abs() <= dateSkew {
		return
	}
	if _, off := t.Zone(); (off == 0 || off == 3600 || off == 7200) && wall(t).Sub(wall(m.Data.Time)).Abs() <= dateSkew {
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
	local, domain = strings.ToLower(local), strings.ToLower(domain)
	if n := len(local); n+1+len(domain) == len(a) && a[:n] == local && a[n+1:] == domain {
		return a // already in that form: not built again
	}
	return local + "@" + domain
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
