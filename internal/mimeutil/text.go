package mimeutil

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// textBufs are the buffers Text reads bodies into.
var textBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Text returns up to limit bytes of the body of a text part, its transfer
// encoding undone and its charset converted to UTF-8, as Body would give
// them. US-ASCII and UTF-8 (passed through, as go-message does) and
// ISO-8859-1, the charsets of PEC bodies, are converted here without the
// buffers of a general charset decoder; any other charset goes through
// Body. An unknown charset gives the bytes as they are, as Body does.
func (p *Part) Text(limit int) string {
	cs, hasCharset := p.Param("charset")
	cs = strings.ToLower(cs)
	switch {
	case !hasCharset, cs == "us-ascii", cs == "utf-8", cs == "iso-8859-1":
	default:
		body, err := p.Body()
		if err != nil && body == nil {
			return ""
		}
		b, _ := io.ReadAll(io.LimitReader(body, int64(limit)))
		return string(b)
	}
	r, err := p.Decoded()
	if err != nil && r == nil {
		return ""
	}
	buf := textBufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 2*limit {
			buf.Reset()
			textBufs.Put(buf)
		}
	}()
	buf.Reset()
	buf.ReadFrom(io.LimitReader(r, int64(limit)))
	b := buf.Bytes()
	if cs != "iso-8859-1" {
		return string(b)
	}
	return latin1(b, limit)
}

// latin1 converts ISO-8859-1 bytes to UTF-8, up to limit bytes of output,
// into one allocation.
func latin1(b []byte, limit int) string {
	n := len(b)
	for _, c := range b {
		if c >= 0x80 {
			n++
		}
	}
	var sb strings.Builder
	sb.Grow(min(n, limit))
	for _, c := range b {
		if c < 0x80 {
			if sb.Len()+1 > limit {
				break
			}
			sb.WriteByte(c)
			continue
		}
		if sb.Len()+2 > limit {
			// The old conversion cut the output at limit bytes, even
			// inside a character: so does this one.
			if sb.Len() < limit {
				sb.WriteByte(0xc0 | c>>6)
			}
			break
		}
		sb.WriteByte(0xc0 | c>>6)
		sb.WriteByte(0x80 | c&0x3f)
	}
	return sb.String()
}
