package mimeutil

import (
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
