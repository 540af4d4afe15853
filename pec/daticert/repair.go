package daticert

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// Real providers have sent signature-intact messages whose daticert.xml is
// not well-formed XML: a raw control character (U+0016) or a character
// reference to one (&#18;) inside oggetto, a subject with a bare "&" or
// "<", bytes that are not the UTF-8 the declaration claims, a byte order
// mark before the root element. One such character used to drop the whole
// certification data. When the strict reading fails, repair makes one
// linear pass that mends exactly these faults, Unmarshal reads the result,
// and Data.Repairs says what was mended. Anything else stays an error.

// replacement stands for a character XML 1.0 forbids (§2.2 Char).
const replacement = "\uFFFD"

// repair returns b mended, and one line per kind of fault mended; nil when
// nothing was changed.
func repair(b []byte) ([]byte, []string) {
	var out bytes.Buffer
	out.Grow(len(b) + 64)
	counts := map[string]int{}
	notes := []string{}
	note := func(what string) {
		if counts[what] == 0 {
			notes = append(notes, what)
		}
		counts[what]++
	}
	// An encoding label nobody knows: dropped, the bytes read as UTF-8.
	declared := declaredEncoding(b)
	if _, known := charsets[declared]; declared != "" && !known && !isUTF8Label(declared) {
		b = dropEncoding(b)
		note(fmt.Sprintf("unknown encoding %q ignored", declared))
		declared = ""
	}
	// Bytes that are not the UTF-8 declared (or implied by no
	// declaration): read as Windows-1252, the superset of ISO-8859-1 that
	// Italian systems write.
	if (declared == "" || isUTF8Label(declared)) && !utf8.Valid(b) {
		b = transcode(b, windows1252)
		note("bytes not valid UTF-8 read as Windows-1252")
	}
	rootSeen := false
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '<':
			if i+1 < len(b) && startsMarkup(b[i+1]) {
				if b[i+1] != '?' && b[i+1] != '!' {
					rootSeen = true
				}
				out.WriteByte(c)
				i++
				continue
			}
			out.WriteString("&lt;")
			note(`bare "<" escaped`)
			i++
			continue
		case c == '&':
			if n, ok := reference(b[i:]); ok {
				if r, isChar := charRef(b[i : i+n]); isChar && !xmlChar(r) {
					out.WriteString(replacement)
					note(fmt.Sprintf("reference to a character XML forbids (%s) replaced", b[i:i+n]))
				} else {
					out.Write(b[i : i+n])
				}
				i += n
				continue
			}
			out.WriteString("&amp;")
			note(`bare "&" escaped`)
			i++
			continue
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
			out.WriteString(replacement)
			note(fmt.Sprintf("control character U+%04X replaced", c))
			i++
			continue
		case c == 0xEF && !rootSeen && bytes.HasPrefix(b[i:], utf8BOM) && i > 0:
			note("byte order mark before the root element removed")
			i += len(utf8BOM)
			continue
		}
		if c >= 0x80 {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 || !xmlChar(r) {
				out.WriteString(replacement)
				note("character XML forbids replaced")
				i += max(n, 1)
				continue
			}
			out.Write(b[i : i+n])
			i += n
			continue
		}
		out.WriteByte(c)
		i++
	}
	if len(notes) == 0 {
		return nil, nil
	}
	res := out.Bytes()
	for i, n := range notes {
		if counts[n] > 1 {
			notes[i] = fmt.Sprintf("%s (%d times)", n, counts[n])
		}
	}
	return res, notes
}

// startsMarkup reports whether c, after "<", opens markup: a name, an end
// tag, a declaration or a processing instruction.
func startsMarkup(c byte) bool {
	return c == '/' || c == '?' || c == '!' || c == '_' || c == ':' ||
		'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= 0x80
}

// reference returns the length of the entity or character reference at
// the start of b ("&amp;", "&#18;", "&#x12;"), and whether there is one.
func reference(b []byte) (int, bool) {
	end := bytes.IndexByte(b[:min(len(b), 40)], ';')
	if end < 2 {
		return 0, false
	}
	name := b[1:end]
	if name[0] == '#' {
		digits := name[1:]
		hex := len(digits) > 0 && (digits[0] == 'x' || digits[0] == 'X')
		if hex {
			digits = digits[1:]
		}
		if len(digits) == 0 {
			return 0, false
		}
		for _, d := range digits {
			if !('0' <= d && d <= '9' || hex && ('a' <= d && d <= 'f' || 'A' <= d && d <= 'F')) {
				return 0, false
			}
		}
		return end + 1, true
	}
	switch string(name) {
	case "amp", "lt", "gt", "quot", "apos":
		return end + 1, true
	}
	return 0, false
}

// charRef returns the code point of a character reference ("&#18;").
func charRef(ref []byte) (rune, bool) {
	if len(ref) < 4 || ref[1] != '#' {
		return 0, false
	}
	digits, base := ref[2:len(ref)-1], 10
	if digits[0] == 'x' || digits[0] == 'X' {
		digits, base = digits[1:], 16
	}
	var v int64
	for _, d := range digits {
		var x int64
		switch {
		case '0' <= d && d <= '9':
			x = int64(d - '0')
		case 'a' <= d && d <= 'f':
			x = int64(d-'a') + 10
		default:
			x = int64(d-'A') + 10
		}
		v = v*int64(base) + x
		if v > utf8.MaxRune {
			return utf8.RuneError, true
		}
	}
	return rune(v), true
}

// declaredEncoding returns the lower-cased encoding of the XML declaration
// at the start of b, "" when none.
func declaredEncoding(b []byte) string {
	b = bytes.TrimPrefix(b, utf8BOM)
	if !bytes.HasPrefix(b, []byte("<?xml")) {
		return ""
	}
	end := bytes.Index(b, []byte("?>"))
	if end < 0 {
		return ""
	}
	decl := b[:end]
	i := bytes.Index(decl, []byte("encoding"))
	if i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(decl[i+len("encoding"):], " \t\r\n=")
	if len(rest) == 0 || rest[0] != '"' && rest[0] != '\'' {
		return ""
	}
	j := bytes.IndexByte(rest[1:], rest[0])
	if j < 0 {
		return ""
	}
	return string(bytes.ToLower(rest[1 : 1+j]))
}

func isUTF8Label(l string) bool { return l == "utf-8" || l == "utf8" }

// transcode turns single-byte text into UTF-8 with table t.
func transcode(b []byte, t *[256]rune) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	for _, c := range b {
		if c < 0x80 {
			out = append(out, c)
			continue
		}
		out = utf8.AppendRune(out, t[c])
	}
	return out
}

// dropEncoding removes the encoding pseudo-attribute of the declaration of
// b, whose bytes are now UTF-8 whatever it said.
func dropEncoding(b []byte) []byte {
	end := bytes.Index(b, []byte("?>"))
	if !bytes.HasPrefix(bytes.TrimPrefix(b, utf8BOM), []byte("<?xml")) || end < 0 {
		return b
	}
	i := bytes.Index(b[:end], []byte("encoding"))
	if i < 0 {
		return b
	}
	j := i + len("encoding")
	for j < end && (b[j] == ' ' || b[j] == '=' || b[j] == '\t') {
		j++
	}
	if j < end && (b[j] == '"' || b[j] == '\'') {
		if k := bytes.IndexByte(b[j+1:end], b[j]); k >= 0 {
			return append(append([]byte{}, b[:i]...), b[j+k+2:]...)
		}
	}
	return b
}
