package mimeutil

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// parseHeader reads the header block hdr (its fields, then an empty line
// or the end) as go-message's textproto.ReadHeader does, with the same
// fields, values, raw bytes and errors, but from bytes already in memory:
// the raw fields share one buffer instead of one per field.
func parseHeader(hdr []byte) (textproto.Header, error) {
	fields, err := splitHeader(nil, hdr)
	if err != nil {
		return textproto.Header{}, err
	}
	return buildHeader(string(fields)), nil
}

// splitHeader checks the header block hdr as textproto.ReadHeader does
// and appends to dst[:0] its fields, each with its continuation lines,
// every line ending written as CRLF, as ReadHeader keeps them: what
// buildHeader makes a textproto.Header of, and headerGet reads without
// one.
func splitHeader(dst, hdr []byte) ([]byte, error) {
	if len(hdr) > 0 && isSpace(hdr[0]) {
		line, _ := nextLine(hdr)
		return nil, fmt.Errorf("message: malformed MIME header initial line: %v", string(line))
	}
	buf := dst[:0]
	rest := hdr
	for len(rest) > 0 {
		line, n := nextLine(rest)
		rest = rest[n:]
		if len(line) == 0 {
			break // the empty line that ends the header
		}
		start := len(buf)
		buf = append(append(buf, line...), '\r', '\n')
		for len(rest) > 0 && isSpace(rest[0]) {
			line, n = nextLine(rest)
			rest = rest[n:]
			buf = append(append(buf, line...), '\r', '\n')
		}
		kv := buf[start:]
		i := bytes.IndexByte(kv, ':')
		if i < 0 {
			return nil, fmt.Errorf("message: malformed MIME header line: %v", string(kv))
		}
		for _, c := range trim(kv[:i]) {
			if c < 33 || c > 126 {
				return nil, fmt.Errorf("message: malformed MIME header key: %v", string(trim(kv[:i])))
			}
		}
	}
	return buf, nil
}

// nextField returns the first field of fields (as splitHeader writes
// them) and what follows it.
func nextField(fields string) (kv, rest string) {
	i := 0
	for {
		j := strings.IndexByte(fields[i:], '\n')
		if j < 0 {
			return fields, ""
		}
		i += j + 1
		if i >= len(fields) || !isSpace(fields[i]) {
			return fields[:i], fields[i:]
		}
	}
}

// buildHeader makes the textproto.Header of fields.
func buildHeader(fields string) textproto.Header {
	b := []byte(fields)
	var kvs [64][]byte
	all := kvs[:0]
	for off, rest := 0, fields; len(rest) > 0; {
		var kv string
		kv, rest = nextField(rest)
		all = append(all, b[off:off+len(kv):off+len(kv)])
		off += len(kv)
	}
	// go-message keeps the fields last first: add them in that order.
	var h textproto.Header
	for j := len(all) - 1; j >= 0; j-- {
		kv := all[j]
		if len(trim(kv[:bytes.IndexByte(kv, ':')])) == 0 {
			continue // an empty name: skipped, as ReadHeader does
		}
		h.AddRaw(kv)
	}
	return h
}

// headerGet returns what textproto.Header.Get(key) returns for the
// header of fields, without making one: the value of the first field
// named key (ASCII case-insensitively, as canonical keys compare), its
// lines trimmed and joined by a space. key is a token, as every field
// name this package asks for.
// headerGet2 returns the values of the first fields named k1 and k2, as
// headerGet(fields, k1) and headerGet(fields, k2) do, in one pass.
func headerGet2(fields, k1, k2 string) (v1, v2 string) {
	found1, found2 := false, false
	for rest := fields; len(rest) > 0 && !(found1 && found2); {
		var kv string
		kv, rest = nextField(rest)
		i := strings.IndexByte(kv, ':')
		name := trimString(kv[:i])
		switch {
		case !found1 && len(name) == len(k1) && strings.EqualFold(name, k1):
			v1, found1 = fieldValue(kv[i+1:]), true
		case !found2 && len(name) == len(k2) && strings.EqualFold(name, k2):
			v2, found2 = fieldValue(kv[i+1:]), true
		}
	}
	return v1, v2
}

func headerGet(fields string, key string) string {
	for rest := fields; len(rest) > 0; {
		var kv string
		kv, rest = nextField(rest)
		i := strings.IndexByte(kv, ':')
		if name := trimString(kv[:i]); len(name) == len(key) && strings.EqualFold(name, key) {
			return fieldValue(kv[i+1:])
		}
	}
	return ""
}

// trimString returns s without leading and trailing spaces and tabs.
func trimString(s string) string {
	i, n := 0, len(s)
	for i < n && isSpace(s[i]) {
		i++
	}
	for n > i && isSpace(s[n-1]) {
		n--
	}
	return s[i:n]
}

// fieldValue is go-message's value of a field: each line without its
// line ending and surrounding spaces and tabs, empty ones dropped, joined
// by a space.
func fieldValue(v string) string {
	if i := strings.IndexByte(v, '\n'); i == len(v)-1 {
		// One line: a part of fields, not a copy.
		return trimString(strings.TrimSuffix(v[:i], "\r"))
	}
	var b strings.Builder
	b.Grow(len(v))
	for len(v) > 0 {
		line := v
		if i := strings.IndexByte(v, '\n'); i >= 0 {
			line, v = v[:i], v[i+1:]
		} else {
			v = ""
		}
		line = trimString(strings.TrimSuffix(line, "\r"))
		if len(line) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(line)
	}
	return b.String()
}

// nextLine returns the first line of b without its line ending (LF, or
// CRLF), and the number of bytes it takes with its ending.
func nextLine(b []byte) (line []byte, n int) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, len(b)
	}
	line = b[:i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, i + 1
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// trim returns s without leading and trailing spaces and tabs.
func trim(s []byte) []byte {
	i, n := 0, len(s)
	for i < n && isSpace(s[i]) {
		i++
	}
	for n > i && isSpace(s[n-1]) {
		n--
	}
	return s[i:n]
}

// Fields calls fn with the name and value of each field of p's header, in
// order, as Get would return the value, until fn returns false. Fields
// with an empty name are skipped, as Header skips them.
func (p *Part) Fields(fn func(name, value string) bool) {
	for rest := p.fields; len(rest) > 0; {
		var kv string
		kv, rest = nextField(rest)
		i := strings.IndexByte(kv, ':')
		name := trimString(kv[:i])
		if name == "" {
			continue
		}
		if !fn(name, fieldValue(kv[i+1:])) {
			return
		}
	}
}

// RawValue is the value of a header field as it is in the header: what
// follows the colon, its continuation lines and their line endings.
type RawValue string

// String returns the value as Fields gives it.
func (v RawValue) String() string { return fieldValue(string(v)) }

// ContainsAny reports whether String holds any of chars, which hold no
// space: without joining the lines of a folded value.
func (v RawValue) ContainsAny(chars string) bool {
	// Most values hold none of chars anywhere (a CR only before an LF,
	// which the value drops): found at a vector search's pace.
	maybe := false
	for j := 0; j < len(chars) && !maybe; j++ {
		if chars[j] == '\r' {
			maybe = hasBareCR(string(v))
		} else {
			maybe = strings.IndexByte(string(v), chars[j]) >= 0
		}
	}
	if !maybe {
		return false
	}
	for rest := string(v); len(rest) > 0; {
		line := rest
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		// The line as fieldValue keeps it; the spaces that join the
		// lines are none of chars.
		if strings.ContainsAny(trimString(strings.TrimSuffix(line, "\r")), chars) {
			return true
		}
	}
	return false
}

// hasBareCR reports whether s has a CR that is not followed by an LF.
func hasBareCR(s string) bool {
	for {
		i := strings.IndexByte(s, '\r')
		if i < 0 {
			return false
		}
		if i+1 >= len(s) || s[i+1] != '\n' {
			return true
		}
		s = s[i+2:]
	}
}

// RawFields calls fn with the name and the raw value of each field of
// the header, as Fields does, until fn returns false.
func (p *Part) RawFields(fn func(name string, value RawValue) bool) {
	for rest := p.fields; len(rest) > 0; {
		var kv string
		kv, rest = nextField(rest)
		i := strings.IndexByte(kv, ':')
		name := trimString(kv[:i])
		if name == "" {
			continue
		}
		if !fn(name, RawValue(kv[i+1:])) {
			return
		}
	}
}
