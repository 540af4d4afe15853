package pecmsg

import (
	"mime"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// The header fields compared with the certification data are read here
// as a reader's mail client shows them, leniently: a field real providers
// (or an attacker) wrote badly is read as far as it can be, never skipped
// whole. What cannot be read is reported as such (ok false): the checks
// treat it as a claim they cannot verify.

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// decodeText decodes the encoded words (RFC 2047) of an unstructured
// header value. A value that is not UTF-8 is raw 8-bit text, read as
// Windows-1252 (which real providers' ISO-8859-1 headers are, but for
// the C1 controls). ok is false when a word could not be decoded (an
// unknown charset, a malformed encoding): it is left as written.
func decodeText(v string) (s string, ok bool) {
	if !utf8.ValidString(v) {
		v = latin1(v)
	}
	if !strings.Contains(v, "=?") {
		return v, true
	}
	if s, err := wordDecoder.DecodeHeader(v); err == nil {
		return s, true
	}
	// Word by word, as DecodeHeader does, noting the words that do not
	// decode.
	var b strings.Builder
	ok = true
	between := false // after an encoded word: white space alone before the next is dropped
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
		word := v[start : start+n]
		if s, err := decodeWord(word); err == nil {
			b.WriteString(s)
		} else {
			b.WriteString(word)
			ok = false
		}
		v = v[start+n:]
		between = true
	}
	b.WriteString(v)
	return b.String(), ok
}

// decodeWord decodes one encoded word, its charset with an RFC 2231
// language ("utf-8*it") read without it.
func decodeWord(word string) (string, error) {
	s, err := wordDecoder.Decode(word)
	if err == nil {
		return s, nil
	}
	q := strings.IndexByte(word[2:], '?') + 2
	if star := strings.IndexByte(word[2:q], '*'); star >= 0 {
		return wordDecoder.Decode(word[:2+star] + word[q:])
	}
	return "", err
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

// sameField reports whether two header values are the same but for
// runs of white space: whether strings.Fields gives the same words of
// both, compared word by word.
func sameField(a, b string) bool {
	for {
		var wa, wb string
		wa, a = nextWord(a)
		wb, b = nextWord(b)
		if wa != wb {
			return false
		}
		if wa == "" {
			return true
		}
	}
}

// nextWord returns the first word of s as strings.Fields splits it
// (around runs of unicode.IsSpace), "" when there is none, and what
// follows it.
func nextWord(s string) (word, rest string) {
	i := 0
	for i < len(s) {
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[i:])
		}
		if !unicode.IsSpace(r) {
			break
		}
		i += n
	}
	j := i
	for j < len(s) {
		r, n := rune(s[j]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[j:])
		}
		if unicode.IsSpace(r) {
			break
		}
		j += n
	}
	return s[i:j], s[j:]
}

// mailbox is an address of a header field and its display name.
type mailbox struct {
	name   string
	nameOK bool // the name was read whole: no encoded word left undecoded
	addr   string
}

// addressField is an address-list field as a reader sees it.
type addressField struct {
	boxes []mailbox
	// groups are the display names of the groups of the field (RFC 5322
	// §3.4: "name: member, member;"), which net/mail drops.
	groups []string
	// groupsOK: every group name was read whole.
	groupsOK bool
}

// readAddresses reads an address-list field as net/mail (with
// go-message's charsets) does; a field it refuses is read leniently:
// each element of the list, split at the commas and semicolons outside
// quotes, angle brackets and comments, its address the last one in angle
// brackets, else the element itself without its comments and group name;
// its display name what stands before the angle brackets, unquoted. The
// encoded words of display names are decoded where they can be, quoted or
// not (net/mail leaves those of a quoted name as written; mail clients
// decode them).
//
// parse is mail.ParseAddressList, or what gives the same result.
func readAddresses(v string, parse func(string) ([]*mail.Address, error)) addressField {
	if !utf8.ValidString(v) {
		v = latin1(v)
	}
	f := addressField{groupsOK: true}
	for _, g := range groupNames(v) {
		name, ok := decodeText(g)
		f.groups = append(f.groups, name)
		f.groupsOK = f.groupsOK && ok
	}
	if l, err := parse(v); err == nil {
		f.boxes = make([]mailbox, 0, len(l))
		for _, a := range l {
			mb := mailbox{name: a.Name, nameOK: true, addr: a.Address}
			if strings.Contains(a.Name, "=?") {
				mb.name, mb.nameOK = decodeText(a.Name)
			}
			f.boxes = append(f.boxes, mb)
		}
		return f
	}
	for _, e := range splitList(v) {
		if mb, ok := readElement(e); ok {
			f.boxes = append(f.boxes, mb)
		}
	}
	return f
}

// maxDepth bounds the nesting of comments the lenient reader follows.
const maxDepth = 64

// region is where a character of a header value stands: outside, or in
// a quoted string, a comment or angle brackets (with the characters that
// open and close them).
type region int

const (
	outside region = iota
	inQuotes
	inComment
	inAngles
)

// valueLexer walks a header value a character at a time, a quoted pair
// (backslash and the character after it) in a quoted string or a comment
// taken whole, and tells apart where each stands: stripComments and
// scanList read values with it.
type valueLexer struct {
	v      string
	i      int
	angles bool // angle brackets are a region (else '<' is a character as any)
	quoted bool
	angle  bool
	depth  int // of nested comments, bounded by maxDepth
}

// next returns the next character or quoted pair, v[at:end], the region
// it stands in, and whether it opens a comment; ok is false at the end.
func (l *valueLexer) next() (at, end int, r region, opens, ok bool) {
	if l.i >= len(l.v) {
		return 0, 0, outside, false, false
	}
	at = l.i
	c := l.v[at]
	end = at + 1
	switch {
	case l.quoted:
		r = inQuotes
		if c == '\\' {
			end = min(at+2, len(l.v))
		} else if c == '"' {
			l.quoted = false
		}
	case l.depth > 0:
		r = inComment
		if c == '\\' {
			end = min(at+2, len(l.v))
		} else if c == '(' && l.depth < maxDepth {
			l.depth++
		} else if c == ')' {
			l.depth--
		}
	case l.angle:
		r = inAngles
		if c == '>' {
			l.angle = false
		}
	case c == '"':
		r, l.quoted = inQuotes, true
	case c == '(':
		r, opens, l.depth = inComment, true, 1
	case c == '<' && l.angles:
		r, l.angle = inAngles, true
	}
	l.i = end
	return at, end, r, opens, true
}

// scanList calls fn with the index and byte of each character of an
// address list that stands outside quoted strings, comments and angle
// brackets.
func scanList(v string, fn func(i int, c byte)) {
	l := valueLexer{v: v, angles: true}
	for {
		at, _, r, _, ok := l.next()
		if !ok {
			return
		}
		if r == outside {
			fn(at, v[at])
		}
	}
}

// splitList splits an address list at the commas and semicolons outside
// quoted strings, angle brackets and comments.
func splitList(v string) []string {
	var out []string
	start := 0
	scanList(v, func(i int, c byte) {
		if c == ',' || c == ';' {
			out = append(out, v[start:i])
			start = i + 1
		}
	})
	return append(out, v[start:])
}

// groupNames returns the display names of the groups of an address list,
// unquoted.
func groupNames(v string) []string {
	if !strings.Contains(v, ":") {
		return nil
	}
	var out []string
	start, inGroup := 0, false
	scanList(v, func(i int, c byte) {
		switch {
		case c == ':' && !inGroup:
			out = append(out, unquote(strings.Trim(strings.TrimSpace(stripComments(v[start:i])), `"`)))
			inGroup, start = true, i+1
		case c == ',':
			start = i + 1
		case c == ';':
			inGroup, start = false, i+1
		}
	})
	return out
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
			name = strings.TrimSpace(name[i+1:]) // a group's name, read apart
		}
		name, ok := decodeText(unquote(strings.Trim(name, `"`)))
		addr = strings.TrimSpace(addr)
		return mailbox{name: name, nameOK: ok, addr: addr}, addr != ""
	}
	if i := strings.LastIndexByte(e, ':'); i >= 0 {
		e = e[i+1:] // a group's name, read apart
	}
	addr := strings.Join(strings.Fields(e), "")
	return mailbox{nameOK: true, addr: addr}, strings.Contains(addr, "@")
}

// stripComments removes the comments (parenthesised, outside quoted
// strings) of an element, each replaced by a space.
func stripComments(e string) string {
	if !strings.Contains(e, "(") {
		return e
	}
	var b strings.Builder
	l := valueLexer{v: e}
	for {
		at, end, r, opens, ok := l.next()
		switch {
		case !ok:
			return b.String()
		case opens:
			b.WriteByte(' ')
		case r != inComment:
			b.WriteString(e[at:end])
		}
	}
}

// The zones RFC 5322 §4.3 names (obs-zone), and the two of Italian legal
// time, which real headers write: each has a fixed offset, never the one
// the machine's local zone gives the name.
var zoneNames = map[string]int{
	"UT": 0, "UTC": 0, "GMT": 0, "Z": 0,
	"EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
	"MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
	"CET": 3600, "CEST": 2 * 3600, "MET": 3600, "MEST": 2 * 3600,
}

// dateLayouts are the forms of a date-time of RFC 5322 §3.3 (the usual
// one first; then, the day of the week dropped, the seconds optional,
// two-digit years of §4.3), with the
// zone as an offset: zone names are read with zoneNames, never by the
// time package, which would read them in the machine's local zone.
var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04 -0700",
	"2 Jan 06 15:04:05 -0700",
	"2 Jan 06 15:04 -0700",
}

// parseDate reads a Date field of RFC 5322 (§3.3, and the obsolete forms
// of §4.3): comments dropped, white space collapsed, a zone name read as
// its fixed offset. Anything else is not a date (ok false).
func parseDate(v string) (t time.Time, ok bool) {
	s := v
	if i := strings.IndexByte(s, '('); i >= 0 {
		if strings.IndexByte(s[i:], ')') == len(s)-i-1 && !strings.Contains(s[i+1:], "(") {
			s = s[:i] // the usual trailing comment: "(CET)"
		} else {
			s = stripComments(s)
		}
	}
	s = strings.TrimSpace(s)
	if t, err := time.Parse(dateLayouts[0], s); err == nil {
		return t, true
	}
	f := strings.Fields(s)
	if len(f) == 0 {
		return time.Time{}, false
	}
	if day := strings.TrimSuffix(f[0], ","); len(f) > 1 && isLetters(day) {
		f = f[1:] // the day of the week, with its comma or without
	}
	if zone := f[len(f)-1]; isLetters(zone) {
		off, known := zoneNames[strings.ToUpper(zone)]
		if !known {
			return time.Time{}, false
		}
		f[len(f)-1] = offsetString(off)
	}
	s = strings.Join(f, " ")
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func isLetters(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return s != ""
}

// offsetString writes a zone offset in seconds as "+hhmm".
func offsetString(off int) string {
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	h, m := off/3600, off%3600/60
	return string([]byte{sign, byte('0' + h/10), byte('0' + h%10), byte('0' + m/10), byte('0' + m%10)})
}
