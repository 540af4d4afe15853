package mimeutil

import (
	"bytes"
	"fmt"

	"github.com/emersion/go-message/textproto"
)

// parseHeader reads the header block hdr (its fields, then an empty line
// or the end) as go-message's textproto.ReadHeader does, with the same
// fields, values, raw bytes and errors, but from bytes already in memory:
// the raw fields share one buffer instead of one per field.
func parseHeader(hdr []byte) (textproto.Header, error) {
	if len(hdr) > 0 && isSpace(hdr[0]) {
		line, _ := nextLine(hdr)
		return textproto.Header{}, fmt.Errorf("message: malformed MIME header initial line: %v", string(line))
	}
	// Each field, its continuation lines included, with every line ending
	// written as CRLF, as ReadHeader keeps it.
	lines := bytes.Count(hdr, []byte{'\n'}) + 1
	buf := make([]byte, 0, len(hdr)+lines)
	var spansArr [48][2]int
	spans := spansArr[:0]
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
		spans = append(spans, [2]int{start, len(buf)})
	}
	for _, sp := range spans {
		kv := buf[sp[0]:sp[1]]
		i := bytes.IndexByte(kv, ':')
		if i < 0 {
			return textproto.Header{}, fmt.Errorf("message: malformed MIME header line: %v", string(kv))
		}
		for _, c := range trim(kv[:i]) {
			if c < 33 || c > 126 {
				return textproto.Header{}, fmt.Errorf("message: malformed MIME header key: %v", string(trim(kv[:i])))
			}
		}
	}
	// go-message keeps the fields last first: add them in that order.
	var h textproto.Header
	for j := len(spans) - 1; j >= 0; j-- {
		kv := buf[spans[j][0]:spans[j][1]:spans[j][1]]
		if len(trim(kv[:bytes.IndexByte(kv, ':')])) == 0 {
			continue // an empty name: skipped, as ReadHeader does
		}
		h.AddRaw(kv)
	}
	return h, nil
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
