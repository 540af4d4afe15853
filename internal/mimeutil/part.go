package mimeutil

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"strings"
	"sync"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // ISO-8859-1 and other charsets of real PEC bodies
)

// parseMediaType parses a Content-Type value as mime.ParseMediaType does,
// whose error it returns as strict, and tolerates what it refuses when a
// type can still be read (err is nil then).
func parseMediaType(v string) (t string, params map[string]string, err, strict error) {
	t, params, strict = parseMediaTypeStd(v)
	if strict != nil && t == "" {
		// QUIRK: tolerate a trailing ";" or junk parameters: keep the type.
		t = strings.ToLower(strings.TrimSpace(strings.SplitN(v, ";", 2)[0]))
		if !strings.Contains(t, "/") {
			return "", nil, strict, strict
		}
		return t, params, nil, strict
	}
	return strings.ToLower(t), params, nil, strict
}

// Raw returns the entity as it is in the source: header and body.
func (p *Part) Raw() *io.SectionReader { return io.NewSectionReader(p.Src, p.Start, p.End-p.Start) }

// RawReader returns the entity as it is in the source, as Raw does; from
// a source in memory (InMemory) a *bytes.Reader over it, which writes
// it out in one piece (io.WriterTo) instead of copying it through a
// buffer.
func (p *Part) RawReader() io.Reader {
	if m, ok := p.Src.(*memSource); ok {
		return bytes.NewReader(m.b[p.Start:p.End])
	}
	return p.Raw()
}

// RawBody returns the body as it is in the source, transfer-encoded.
func (p *Part) RawBody() *io.SectionReader {
	return io.NewSectionReader(p.Src, p.BodyStart, p.End-p.BodyStart)
}

// Body returns the body with its transfer encoding decoded and, for text
// parts, converted to UTF-8. An unknown encoding or charset is reported with
// the raw body.
func (p *Part) Body() (io.Reader, error) {
	e, err := message.New(message.Header{Header: p.Header()}, p.RawBody())
	if e == nil {
		return p.RawBody(), err
	}
	return e.Body, err
}

// Filename returns the name of the part: the Content-Disposition filename
// parameter, else the Content-Type name parameter (RFC 2047/2231
// decoded), as go-message's mail.AttachmentHeader.Filename reads it.
func (p *Part) Filename() string {
	name, ok, err := fieldParam(p.Get("Content-Disposition"), "filename")
	if !ok {
		// The Content-Type parameters were parsed by the scan: the name
		// is decoded as go-message decodes it.
		name, err = "", nil
		if v := p.Get("Content-Type"); v != "" {
			if p.ctErr != nil {
				err = p.ctErr
			} else {
				n, _ := p.Param("name")
				name = decodeParam(n)
			}
		}
	}
	if err == nil && name != "" {
		return name
	}
	name, _ = p.Param("name")
	return name
}

// Disposition returns the Content-Disposition type as go-message's
// message.Header.ContentDisposition does: the whole value when it cannot
// be parsed.
func (p *Part) Disposition() string {
	v := p.Get("Content-Disposition")
	if t, ok := walkMediaType(v, nil); ok {
		return t
	}
	t, _, err := mime.ParseMediaType(v)
	if err != nil {
		return v
	}
	return t
}

// fieldParam returns the parameter key of a field with parameters as
// go-message reads it (its value RFC 2047 decoded, a value that does not
// decode kept as it is), whether it is there, and the error of a field
// that cannot be parsed: without a map when walkMediaType reads the
// field.
func fieldParam(v, key string) (val string, found bool, err error) {
	if pv, found, ok := mediaParam(v, key); ok {
		if !found {
			return "", false, nil
		}
		return decodeParam(pv), true, nil
	}
	_, params, err := mime.ParseMediaType(v)
	if err != nil {
		return "", false, err
	}
	pv, found := params[key]
	return decodeParam(pv), found, nil
}

// decodeParam decodes the encoded words of a parameter value, as
// go-message does; a value that does not decode is kept as it is.
func decodeParam(v string) string {
	if !strings.Contains(v, "=?") {
		return v
	}
	if dec, err := wordDecoder.DecodeHeader(v); err == nil {
		return dec
	}
	return v
}

// wordDecoder decodes encoded words with go-message's charsets.
var wordDecoder = &mime.WordDecoder{CharsetReader: func(charset string, r io.Reader) (io.Reader, error) {
	charset = strings.ToLower(charset)
	if charset == "utf-8" || charset == "us-ascii" {
		return r, nil
	}
	if message.CharsetReader != nil {
		return message.CharsetReader(charset, r)
	}
	return nil, fmt.Errorf("unhandled charset %q", charset)
}}

// Walk calls fn for p and every entity below it, depth first, embedded
// messages included. It stops when fn returns false.
func (p *Part) Walk(fn func(*Part) bool) bool {
	if !fn(p) {
		return false
	}
	for _, c := range p.Children {
		if !c.Walk(fn) {
			return false
		}
	}
	if p.Embedded != nil {
		return p.Embedded.Walk(fn)
	}
	return true
}

// Size returns the length of the raw entity in bytes.
func (p *Part) Size() int64 { return p.End - p.Start }

// Decoded returns the body with its transfer encoding undone and nothing
// else: no charset is converted, so a text part comes back in the bytes it
// was sent in. An unknown transfer encoding gives the raw body and an error
// that message.IsUnknownEncoding recognises.
func (p *Part) Decoded() (io.Reader, error) {
	raw := p.RawBody()
	switch p.Encoding() {
	case "quoted-printable":
		return newQPReader(raw), nil
	case "base64":
		return newB64Reader(raw), nil
	case "", "7bit", "8bit", "binary":
		return raw, nil
	}
	// go-message makes the error, so that message.IsUnknownEncoding
	// recognises it.
	var h message.Header
	h.Set("Content-Transfer-Encoding", p.Get("Content-Transfer-Encoding"))
	_, err := message.New(h, raw)
	if err == nil {
		err = fmt.Errorf("unknown transfer encoding %q", p.Encoding())
	}
	return raw, err
}

// Encoding returns the Content-Transfer-Encoding, lower-cased and trimmed.
func (p *Part) Encoding() string { return p.encoding }

// DecodedSize returns the number of bytes Decoded yields. A base64 body is
// measured by counting its alphabet, without decoding it; a
// quoted-printable one is decoded to count it.
func (p *Part) DecodedSize() (int64, error) {
	switch p.Encoding() {
	case "base64":
		return base64Size(p.RawBody())
	case "quoted-printable":
		r, _ := p.Decoded()
		buf := getBuf()
		defer putBuf(buf)
		return io.CopyBuffer(struct{ io.Writer }{io.Discard}, r, *buf)
	}
	return p.End - p.BodyStart, nil
}

// base64Alphabet marks the bytes of the standard base64 alphabet.
var base64Alphabet = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		t[c] = true
	}
	return t
}()

func base64Size(r io.Reader) (int64, error) {
	buf := getBuf()
	defer putBuf(buf)
	var n int64
	for {
		k, err := r.Read(*buf)
		for _, c := range (*buf)[:k] {
			if base64Alphabet[c] {
				n++
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	size := n / 4 * 3
	switch n % 4 {
	case 2:
		size++
	case 3:
		size += 2
	}
	return size, nil
}

// DecodedBound returns a bound on the number of bytes Decoded yields,
// from the size of the encoded body: as tight as the encoding allows.
func (p *Part) DecodedBound() int64 {
	n := p.End - p.BodyStart
	if p.Encoding() == "base64" {
		return n/4*3 + 3
	}
	return n
}

// ReadAtMost reads r to its end, appending to buf[:0] (grown to hint
// bytes, a bound on its size such as DecodedBound, rather than by
// doubling), and stops after limit+1 bytes: a result longer than limit
// says r is. The bytes read before an error are returned with it.
func ReadAtMost(buf []byte, r io.Reader, hint, limit int64) ([]byte, error) {
	if need := min(max(hint, 0), limit) + 1; int64(cap(buf)) < need {
		buf = make([]byte, 0, need)
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf[:limit+1], nil
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// Scratch buffers, for bytes read, used and dropped within one call (a
// signature, certification data): GetScratch returns one holding at
// least n bytes, PutScratch takes it back once nothing refers to it.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// maxScratch bounds the buffers kept for reuse.
const maxScratch = 256 << 10

// GetScratch returns an empty buffer of capacity at least n.
func GetScratch(n int64) *[]byte {
	b := scratch.Get().(*[]byte)
	if int64(cap(*b)) < n && n <= maxScratch {
		*b = make([]byte, 0, n)
	}
	*b = (*b)[:0]
	return b
}

// PutScratch gives back a buffer from GetScratch, holding what was read
// into it (b's storage, possibly regrown).
func PutScratch(p *[]byte, b []byte) {
	if cap(b) > maxScratch {
		return
	}
	*p = b[:0]
	scratch.Put(p)
}
