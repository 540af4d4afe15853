package mimeutil

import (
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // ISO-8859-1 and other charsets of real PEC bodies
	"github.com/emersion/go-message/mail"
)

func parseMediaType(v string) (string, map[string]string, error) {
	t, params, err := mime.ParseMediaType(v)
	if err != nil && t == "" {
		// QUIRK: tolerate a trailing ";" or junk parameters: keep the type.
		t = strings.ToLower(strings.TrimSpace(strings.SplitN(v, ";", 2)[0]))
		if !strings.Contains(t, "/") {
			return "", nil, err
		}
		return t, params, nil
	}
	return strings.ToLower(t), params, nil
}

// Raw returns the entity as it is in the source: header and body.
func (p *Part) Raw() *io.SectionReader { return io.NewSectionReader(p.Src, p.Start, p.End-p.Start) }

// RawBody returns the body as it is in the source, transfer-encoded.
func (p *Part) RawBody() *io.SectionReader {
	return io.NewSectionReader(p.Src, p.BodyStart, p.End-p.BodyStart)
}

// Body returns the body with its transfer encoding decoded and, for text
// parts, converted to UTF-8. An unknown encoding or charset is reported with
// the raw body.
func (p *Part) Body() (io.Reader, error) {
	e, err := message.New(message.Header{Header: p.Header}, p.RawBody())
	if e == nil {
		return p.RawBody(), err
	}
	return e.Body, err
}

// Filename returns the name of the part: the Content-Disposition filename
// parameter, else the Content-Type name parameter (RFC 2047/2231 decoded).
func (p *Part) Filename() string {
	ah := mail.AttachmentHeader{Header: message.Header{Header: p.Header}}
	if n, err := ah.Filename(); err == nil && n != "" {
		return n
	}
	return p.Params["name"]
}

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
		return base64.NewDecoder(base64.StdEncoding, &spaceSkipper{r: raw}), nil
	case "", "7bit", "8bit", "binary":
		return raw, nil
	}
	// go-message makes the error, so that message.IsUnknownEncoding
	// recognises it.
	var h message.Header
	h.Set("Content-Transfer-Encoding", p.Header.Get("Content-Transfer-Encoding"))
	_, err := message.New(h, raw)
	if err == nil {
		err = fmt.Errorf("unknown transfer encoding %q", p.Encoding())
	}
	return raw, err
}

// Encoding returns the Content-Transfer-Encoding, lower-cased and trimmed.
func (p *Part) Encoding() string {
	return strings.ToLower(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding")))
}

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

// spaceSkipper drops the spaces and tabs that some senders indent base64
// lines with (go-message tolerates them too); the decoder skips CR and LF.
type spaceSkipper struct{ r io.Reader }

func (s *spaceSkipper) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		j := 0
		for i := 0; i < n; i++ {
			if c := p[i]; c != ' ' && c != '\t' {
				p[j] = c
				j++
			}
		}
		// Only white space was read: read again rather than return an
		// empty read.
		if j > 0 || n == 0 || err != nil {
			return j, err
		}
	}
}
