package daticert

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pecsdk/pec/pec"
)

// Validate checks d against the DTD (daticert.dtd) and the value rules of
// PEC.md §8: the enumerations, the required elements, the form of addresses
// and identifiers, and that every value survives a round trip through
// Marshal and Parse (no surrounding white space, only characters XML can
// carry, a time that daticert can express). It returns a *ValidationError
// listing every problem, or nil.
func (d *Data) Validate() error {
	if d == nil {
		return &ValidationError{Problems: []string{"postacert: no data"}}
	}
	var v validator

	switch {
	case d.Type == "":
		v.add(at("@"+attrType), "missing")
	case !d.Type.Valid():
		v.add(at("@"+attrType), "invalid value %q", d.Type)
	}
	if d.Error != "" && !d.Error.Valid() {
		v.add(at("@"+attrError), "invalid value %q", d.Error)
	}

	v.address(at(pathSender), d.Sender, true)
	if len(d.Recipients) == 0 {
		v.add(at(pathRecipient), "at least one recipient is required")
	}
	for i, r := range d.Recipients {
		f := field{path: pathRecipient, index: i + 1}
		v.address(f, r.Address, true)
		if r.Type != "" && !r.Type.Valid() {
			f.attr = attrType
			v.add(f, "invalid value %q", r.Type)
		}
	}
	v.address(at(pathReplyTo), d.ReplyTo, true)
	v.text(at(pathSubject), d.Subject, false, true)

	v.text(at(pathProvider), d.Provider, true, false)
	v.time(d.Time)
	v.id(d.ID)
	v.text(at(pathMsgID), d.MsgID, false, false)
	if d.ReceiptType != "" && !d.ReceiptType.Valid() {
		v.add(at(pathReceipt+"/@"+attrType), "invalid value %q", d.ReceiptType)
	}
	v.address(at(pathDelivery), d.Delivery, false)
	for i, r := range d.Receipts {
		v.address(field{path: pathReception, index: i + 1}, r, true)
	}
	v.text(at(pathExtendedErr), d.ExtendedError, false, true)

	// Parse reads a lone ricezione of a rilevazione-virus as its consegna
	// (the older placement); writing that form would not round-trip.
	if d.Type == pec.CertVirusDetected && d.Delivery == "" && len(d.Receipts) == 1 {
		v.add(at(pathReception), "a rilevazione-virus names its recipient in consegna")
	}

	if len(v.problems) > 0 {
		return &ValidationError{Problems: v.problems}
	}
	return nil
}

// field names an element or attribute in a problem; the path is only built
// when there is one.
type field struct {
	path  string // below the root; "@name" for an attribute of the root
	index int    // 1-based index of a repeated element, or 0
	attr  string // attribute of the element, or ""
}

func at(path string) field { return field{path: path} }

func (f field) String() string {
	s := elRoot + "/" + f.path
	if f.index > 0 {
		s += "[" + strconv.Itoa(f.index) + "]"
	}
	if f.attr != "" {
		s += "/@" + f.attr
	}
	return s
}

// validator collects the problems found by Validate.
type validator struct {
	problems []string
}

func (v *validator) add(f field, format string, args ...any) {
	v.problems = append(v.problems, f.String()+": "+fmt.Sprintf(format, args...))
}

// text checks a text value: present when required, trimmed (Parse trims),
// valid UTF-8, and free of control characters; multiline allows tab, line
// feed and carriage return inside it.
func (v *validator) text(f field, s string, required, multiline bool) bool {
	switch {
	case s == "":
		if required {
			v.add(f, "missing")
		}
		return false
	case !utf8.ValidString(s):
		v.add(f, "invalid UTF-8")
		return false
	case strings.TrimSpace(s) != s:
		v.add(f, "leading or trailing white space")
		return false
	}
	for _, r := range s {
		if !xmlChar(r) || (unicode.IsControl(r) && !(multiline && (r == '\t' || r == '\n' || r == '\r'))) {
			v.add(f, "forbidden character %U", r)
			return false
		}
	}
	return true
}

// xmlChar reports whether r is a Char of XML 1.0 (§2.2).
func xmlChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= unicode.MaxRune
}

// address checks an addr-spec (RFC 5322 §3.4.1, with the UTF-8 of RFC 6532):
// daticert carries bare addresses, without display names or brackets
// (PEC.md §8.3).
func (v *validator) address(f field, s string, required bool) {
	if v.text(f, s, required, false) && !addrSpec(s) {
		v.add(f, "%q is not an addr-spec", s)
	}
}

// id checks the PEC msgid: a msg-id without the angle brackets (PEC.md §9).
func (v *validator) id(s string) {
	if v.text(at(pathID), s, true, false) && strings.ContainsAny(s, "<> ") {
		v.add(at(pathID), "%q is not a msg-id without brackets", s)
	}
}

// time checks that the time is set and that daticert can write it: in Italian
// legal time, with whole-minute offset and a four-digit year.
func (v *validator) time(t time.Time) {
	if t.IsZero() {
		v.add(at(pathDate), "missing")
		return
	}
	day, clock, zone := pec.FormatDate(t)
	back, err := pec.ParseDate(day, clock, zone)
	if err != nil || !back.Equal(t.Truncate(time.Second)) {
		v.add(at(pathDate), "%s cannot be written as giorno, ora and zona", t.Format(time.RFC3339))
	}
}

// addrSpec reports whether s is local-part "@" domain, with a dot-atom or
// quoted-string local part and a dot-atom or domain-literal domain.
func addrSpec(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 || len(domain) > 255 {
		return false
	}
	if !dotAtom(local) && !quotedString(local) {
		return false
	}
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		for _, r := range domain[1 : len(domain)-1] {
			if r <= ' ' || r == '[' || r == ']' || r == '\\' || r == 0x7F {
				return false
			}
		}
		return true
	}
	return dotAtom(domain)
}

// dotAtom reports whether s is atext runs joined by single dots.
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if r != '.' && !atext(r) {
			return false
		}
	}
	return true
}

// atext reports whether r may appear in an atom (RFC 5322 §3.2.3; any
// non-ASCII letter per RFC 6532).
func atext(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case r >= utf8.RuneSelf:
		return unicode.IsGraphic(r) && !unicode.IsSpace(r)
	}
	return strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
}

// quotedString reports whether s is a quoted-string without folding white
// space.
func quotedString(s string) bool {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return false
	}
	body := s[1 : len(s)-1]
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case c == '\\':
			i++
			if i == len(body) || body[i] < ' ' || body[i] == 0x7F {
				return false
			}
		case c == '"' || c < ' ' || c == 0x7F:
			return false
		}
	}
	return true
}
