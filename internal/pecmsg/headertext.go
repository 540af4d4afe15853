package pecmsg

import (
	"mime"
	netmail "net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// The header fields compared with the certification data are read here
// as a reader's mail client shows them, leniently: a field real providers
// (or an attacker) wrote badly is read as far as it can be, never skipped
// whole.

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// text is the decoded text of an unstructured header value: its pieces,
// between which stood encoded words that could not be decoded (an
// unknown charset, a malformed encoding) and that stand for any text.
// A text has at least one piece.
type text []string

// wild reports whether t holds words that could not be decoded.
func (t text) wild() bool { return len(t) > 1 }

// text returns t with "…" for each word that could not be decoded.
func (t text) text() string { return strings.Join(t, "…") }

// matches reports whether t may be signed, compared as normSubject folds
// them, each undecoded word standing for any text.
func (t text) matches(signed string) bool {
	s := normSubject(signed)
	if len(t) == 1 {
		return normSubject(t[0]) == s
	}
	first, last := normSubject(t[0]), normSubject(t[len(t)-1])
	if !strings.HasPrefix(s, first) {
		return false
	}
	s = s[len(first):]
	for _, p := range t[1 : len(t)-1] {
		p = normSubject(p)
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}

// decodeText decodes the encoded words (RFC 2047) of an unstructured
// header value. A value that is not UTF-8 is raw 8-bit text, read as
// Windows-1252 (a superset of the ISO-8859-1 real providers write).
func decodeText(v string) text {
	if !utf8.ValidString(v) {
		v = latin1(v)
	}
	if !strings.Contains(v, "=?") {
		return text{v}
	}
	if s, err := wordDecoder.DecodeHeader(v); err == nil {
		return text{s}
	}
	// Word by word, as DecodeHeader does, keeping the place of each word
	// that does not decode.
	var (
		out     text
		b       strings.Builder
		between bool // after an encoded word: white space alone before the next is dropped
	)
	for {
		start := strings.Index(v, "=?")
		if start < 0 {
			break
		}
		n, skip := encodedWordLen(v[start:])
		if n == 0 {
			b.WriteString(v[:start+skip])
			v = v[start+skip:]
			between = false
			continue
		}
		if gap := v[:start]; !between || strings.Trim(gap, " \t") != "" {
			b.WriteString(gap)
		}
		if s, err := wordDecoder.Decode(v[start : start+n]); err == nil {
			b.WriteString(s)
		} else {
			out = append(out, b.String())
			b.Reset()
		}
		v = v[start+n:]
		between = true
	}
	b.WriteString(v)
	return append(out, b.String())
}

// encodedWordLen returns the length of the encoded word "=?charset?e?text?="
// at the start of s, or 0 and how far the search may skip: an encoded word
// holds no white space, so when none ends before the first, none that
// begins before it does either.
func encodedWordLen(s string) (n, skip int) {
	i := 2
	for i < len(s) && s[i] != '?' {
		if s[i] == ' ' || s[i] == '\t' {
			return 0, 2
		}
		i++
	}
	if i == 2 || i+3 > len(s) || s[i+2] != '?' {
		return 0, 2
	}
	for i += 3; i < len(s); i++ {
		switch {
		case s[i] == ' ' || s[i] == '\t':
			return 0, i
		case s[i] == '?' && i+1 < len(s) && s[i+1] == '=':
			return i + 2, 0
		}
	}
	return 0, len(s)
}

// latin1 reads s as Windows-1252.
func latin1(s string) string {
	out, err := charmap.Windows1252.NewDecoder().String(s)
	if err != nil {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return out
}

// nfc returns s in Unicode normalisation form C.
func nfc(s string) string {
	if norm.NFC.IsNormalString(s) {
		return s
	}
	return norm.NFC.String(s)
}

// mailbox is an address of a header field and its display name.
type mailbox struct {
	name text
	addr string
}

// readAddresses returns the mailboxes of an address-list field, as
// net/mail (with go-message's charsets) reads them; a field it refuses is
// read leniently: each element of the list, split at the commas and
// semicolons outside quotes, angle brackets and comments, its address the
// last one in angle brackets, else the element itself without its
// comments and group name; its display name what stands before the
// angle brackets, unquoted, its encoded words decoded where they can be.
func readAddresses(v string) []mailbox {
	if !utf8.ValidString(v) {
		v = latin1(v)
	}
	if l, err := mail.ParseAddressList(v); err == nil {
		out := make([]mailbox, 0, len(l))
		for _, a := range l {
			// net/mail leaves the encoded words of a quoted display name
			// as they are; mail clients decode them.
			name := text{a.Name}
			if strings.Contains(a.Name, "=?") {
				name = decodeText(a.Name)
			}
			out = append(out, mailbox{name: name, addr: a.Address})
		}
		return out
	}
	var out []mailbox
	for _, e := range splitList(v) {
		if mb, ok := readElement(e); ok {
			out = append(out, mb)
		}
	}
	return out
}

// maxDepth bounds the nesting of comments the lenient reader follows.
const maxDepth = 64

// splitList splits an address list at the commas and semicolons outside
// quoted strings, angle brackets and comments.
func splitList(v string) []string {
	var out []string
	quoted, angle, depth, start := false, false, 0, 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '"' {
				quoted = false
			}
		case depth > 0:
			if c == '\\' {
				i++
			} else if c == '(' && depth < maxDepth {
				depth++
			} else if c == ')' {
				depth--
			}
		case c == '"':
			quoted = true
		case c == '(':
			depth = 1
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case (c == ',' || c == ';') && !angle:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// readElement reads one element of an address list leniently.
func readElement(e string) (mailbox, bool) {
	e = stripComments(e)
	if open := strings.LastIndexByte(e, '<'); open >= 0 {
		addr := e[open+1:]
		if end := strings.IndexByte(addr, '>'); end >= 0 {
			addr = addr[:end]
		}
		name := strings.TrimSpace(e[:open])
		if i := strings.LastIndexByte(name, ':'); i >= 0 && !strings.Contains(name, `"`) {
			name = strings.TrimSpace(name[i+1:]) // a group's name
		}
		name = unquote(strings.Trim(name, `"`))
		addr = strings.TrimSpace(addr)
		return mailbox{name: decodeText(name), addr: addr}, addr != ""
	}
	if i := strings.LastIndexByte(e, ':'); i >= 0 {
		e = e[i+1:] // a group's name
	}
	addr := strings.Join(strings.Fields(e), "")
	return mailbox{name: text{""}, addr: addr}, strings.Contains(addr, "@")
}

// stripComments removes the comments (parenthesised, outside quoted
// strings) of an element.
func stripComments(e string) string {
	if !strings.Contains(e, "(") {
		return e
	}
	var b strings.Builder
	quoted, depth := false, 0
	for i := 0; i < len(e); i++ {
		c := e[i]
		switch {
		case depth > 0:
			if c == '\\' {
				i++
			} else if c == '(' && depth < maxDepth {
				depth++
			} else if c == ')' {
				depth--
			}
			continue
		case quoted:
			if c == '\\' && i+1 < len(e) {
				b.WriteByte(c)
				i++
				c = e[i]
			} else if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
		case c == '(':
			depth = 1
			b.WriteByte(' ')
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// dateLayout is the form of nearly every Date field (RFC 5322 §3.3).
const dateLayout = "Mon, 2 Jan 2006 15:04:05 -0700"

// parseDate reads a Date field: its usual form first (without the
// allocations of the layouts net/mail tries in turn), then as net/mail
// reads it, then without its comments and with its white space collapsed.
func parseDate(v string) (time.Time, bool) {
	s := v
	if i := strings.IndexByte(s, '('); i >= 0 {
		s = strings.TrimSpace(s[:i]) // a trailing comment: "(CET)"
	}
	if t, err := time.Parse(dateLayout, s); err == nil {
		return t, true
	}
	if t, err := netmail.ParseDate(v); err == nil {
		return t, true
	}
	s = strings.Join(strings.Fields(stripComments(v)), " ")
	if t, err := netmail.ParseDate(s); err == nil {
		return t, true
	}
	for _, layout := range []string{dateLayout, "2 Jan 2006 15:04:05 -0700", time.RFC1123, time.RFC1123Z, time.RFC3339, time.ANSIC, time.UnixDate} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
