package mimeutil

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/bits"
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
// into one allocation. Runs of ASCII, most of a text, are found and
// copied eight bytes at a time.
func latin1(b []byte, limit int) string {
	var sb strings.Builder
	sb.Grow(min(len(b)+countHigh(b), limit))
	for i := 0; i < len(b); {
		if j := i + asciiRun(b[i:]); j > i {
			if room := limit - sb.Len(); j-i > room {
				sb.Write(b[i : i+room])
				break
			}
			sb.Write(b[i:j])
			i = j
			continue
		}
		c := b[i]
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
		i++
	}
	return sb.String()
}

const highBits = 0x8080808080808080

// asciiRun returns the number of bytes under 0x80 at the start of b.
func asciiRun(b []byte) int {
	k := 0
	for ; k+8 <= len(b); k += 8 {
		if w := binary.LittleEndian.Uint64(b[k:]) & highBits; w != 0 {
			return k + bits.TrailingZeros64(w)/8
		}
	}
	for k < len(b) && b[k] < 0x80 {
		k++
	}
	return k
}

// countHigh returns the number of bytes of b of 0x80 and over.
func countHigh(b []byte) int {
	n, k := 0, 0
	for ; k+8 <= len(b); k += 8 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(b[k:]) & highBits)
	}
	for _, c := range b[k:] {
		if c >= 0x80 {
			n++
		}
	}
	return n
}
