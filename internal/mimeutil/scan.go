package mimeutil

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/emersion/go-message/textproto"
)

// Errors reported while scanning. Structural defects inside a message are
// recorded as Problems of the part concerned; Scan returns an error only when
// nothing usable was found.
var (
	ErrNoBoundary     = errors.New("multipart without a boundary parameter")
	ErrBoundaryAbsent = errors.New("multipart boundary never occurs in the body")
	ErrNoClose        = errors.New("multipart closing delimiter missing (truncated?)")
	ErrNoHeaderEnd    = errors.New("header not terminated by an empty line")
	ErrHeaderTooLarge = errors.New("header larger than the limit")
	ErrTooDeep        = errors.New("MIME nesting deeper than the limit")
	ErrTooManyParts   = errors.New("more MIME parts than the limit")
	ErrEmbeddedTooBig = errors.New("encoded embedded message larger than the limit")
)

// IsLimit reports whether err says that a limit of Limits stopped the scan
// (the input is too large to read, not necessarily broken).
func IsLimit(err error) bool {
	return errors.Is(err, ErrHeaderTooLarge) || errors.Is(err, ErrTooManyParts) || errors.Is(err, ErrEmbeddedTooBig)
}

// Limits bound the work Scan does on hostile input. Zero fields take the
// defaults shown.
type Limits struct {
	MaxDepth       int   // nesting of multiparts and embedded messages; 0 = 32
	MaxParts       int   // entities in the whole tree; 0 = 10000
	MaxHeaderBytes int   // bytes of one header block; 0 = 256 KiB
	MaxEmbedded    int64 // decoded size of a transfer-encoded message/rfc822; 0 = 64 MiB
}

func (l *Limits) withDefaults() Limits {
	var o Limits
	if l != nil {
		o = *l
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = 32
	}
	if o.MaxParts <= 0 {
		o.MaxParts = 10000
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 256 << 10
	}
	if o.MaxEmbedded <= 0 {
		o.MaxEmbedded = 64 << 20
	}
	return o
}

// Part is one MIME entity, located by offsets in Src.
type Part struct {
	Path      string           // "" for the message, "1", "1.2" for parts (IMAP numbering)
	Header    textproto.Header // the entity's header
	Src       io.ReaderAt      // the bytes the offsets refer to
	Start     int64            // first byte of the header
	BodyStart int64            // first byte of the body
	End       int64            // end of the body, exclusive (the CRLF before a delimiter is not part of it)
	MediaType string           // lower-case media type; text/plain when absent
	Params    map[string]string
	Children  []*Part // parts of a multipart
	Embedded  *Part   // the message inside a message/rfc822 part
	Problems  []error // defects tolerated while scanning this entity
}

// Scan reads the MIME structure of the message held in src[0:size].
func Scan(src io.ReaderAt, size int64, lim *Limits) (*Part, error) {
	s := scanners.Get().(*scanner)
	defer s.release()
	s.lim = lim.withDefaults()
	p, err := s.entity(src, 0, size, "", 0)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// scanner holds the buffers of one Scan; they are reused by the next one
// (scanners), so that scanning a message allocates no buffer per part.
type scanner struct {
	lim   Limits
	parts int
	buf   *bufio.Reader // the lines of the source
	sec   io.SectionReader
	hdr   []byte // the header being read
}

// maxKeptHeader bounds the header buffer a pooled scanner keeps.
const maxKeptHeader = 64 << 10

var scanners = sync.Pool{New: func() any {
	return &scanner{buf: bufio.NewReaderSize(nil, 32<<10)}
}}

func (s *scanner) release() {
	s.parts = 0
	s.sec = io.SectionReader{}
	s.buf.Reset(nil)
	if cap(s.hdr) > maxKeptHeader {
		s.hdr = nil
	}
	s.hdr = s.hdr[:0]
	scanners.Put(s)
}

// lines iterates over the lines of src[start:end], each with its offset.
type lines struct {
	r       *bufio.Reader
	off     int64
	atStart bool // the next chunk begins a line
}

// lines returns an iterator over src[start:end]. It uses the scanner's
// one buffer: only one iterator is in use at a time.
func (s *scanner) lines(src io.ReaderAt, start, end int64) lines {
	s.sec = *io.NewSectionReader(src, start, end-start)
	s.buf.Reset(&s.sec)
	return lines{r: s.buf, off: start, atStart: true}
}

// next returns the next chunk: a whole line with its terminator, or a part of
// a line longer than the buffer. lineStart says whether it begins a line.
func (l *lines) next() (chunk []byte, off int64, lineStart bool, err error) {
	b, err := l.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		err = nil
	}
	off, lineStart = l.off, l.atStart
	l.off += int64(len(b))
	l.atStart = len(b) > 0 && b[len(b)-1] == '\n'
	if len(b) == 0 && err == nil {
		err = io.EOF
	}
	return b, off, lineStart, err
}

func termLen(line []byte) int {
	switch {
	case bytes.HasSuffix(line, []byte("\r\n")):
		return 2
	case bytes.HasSuffix(line, []byte("\n")):
		return 1
	}
	return 0
}

func (s *scanner) entity(src io.ReaderAt, start, end int64, path string, depth int) (*Part, error) {
	if depth > s.lim.MaxDepth {
		return nil, ErrTooDeep
	}
	if s.parts++; s.parts > s.lim.MaxParts {
		return nil, ErrTooManyParts
	}
	p := &Part{Path: path, Src: src, Start: start, End: end}
	// Header: lines up to the first empty one.
	hdr := s.hdr[:0]
	ls := s.lines(src, start, end)
	bodyStart := int64(-1)
	for {
		chunk, off, lineStart, err := ls.next()
		if len(chunk) > 0 {
			if lineStart && (len(chunk) == termLen(chunk)) {
				bodyStart = off + int64(len(chunk))
				break
			}
			if len(hdr)+len(chunk) > s.lim.MaxHeaderBytes {
				return nil, &offsetError{off, ErrHeaderTooLarge}
			}
			hdr = append(hdr, chunk...)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if bodyStart < 0 {
		p.Problems = append(p.Problems, &offsetError{start, ErrNoHeaderEnd})
		bodyStart = end
	}
	p.BodyStart = bodyStart
	hdr = append(hdr, "\r\n"...)
	s.hdr = hdr
	h, err := parseHeader(hdr)
	if err != nil && err != io.EOF {
		return nil, &offsetError{start, fmt.Errorf("header: %w", err)}
	}
	p.Header = h
	p.MediaType, p.Params = contentType(h)

	switch {
	case strings.HasPrefix(p.MediaType, "multipart/"):
		if err := s.multipart(p, depth); err != nil {
			return nil, err
		}
	case p.MediaType == "message/rfc822" || p.MediaType == "message/global":
		if err := s.embedded(p, depth); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func contentType(h textproto.Header) (string, map[string]string) {
	v := h.Get("Content-Type")
	if v == "" {
		return "text/plain", nil
	}
	t, params, err := parseMediaType(v)
	if err != nil || t == "" {
		return "text/plain", params
	}
	return t, params
}

func (s *scanner) multipart(p *Part, depth int) error {
	boundary := p.Params["boundary"]
	if boundary == "" {
		p.Problems = append(p.Problems, &offsetError{p.Start, ErrNoBoundary})
		return nil
	}
	delim := []byte("--" + boundary)
	type span struct{ start, end int64 }
	var spans []span
	partStart := int64(-1)
	prevTerm := 0
	prevCR := false // the previous chunk ended in a CR
	closed := false
	ls := s.lines(p.Src, p.BodyStart, p.End)
	for !closed {
		chunk, off, lineStart, err := ls.next()
		if lineStart && bytes.HasPrefix(chunk, delim) {
			rest := chunk[len(delim):]
			isClose := bytes.HasPrefix(rest, []byte("--"))
			if isClose {
				rest = rest[2:]
			}
			if len(bytes.TrimRight(rest, " \t\r\n")) == 0 {
				if partStart >= 0 {
					e := off - int64(prevTerm)
					if e < partStart {
						e = partStart
					}
					spans = append(spans, span{partStart, e})
				}
				partStart = off + int64(len(chunk))
				if isClose {
					closed = true
				}
				prevTerm = termLen(chunk)
				prevCR = false
				if err == io.EOF {
					break
				}
				continue
			}
		}
		if len(chunk) > 0 {
			t := termLen(chunk)
			// A line longer than the buffer can end in a CR at the end of
			// one chunk and its LF alone in the next: the terminator is
			// then CRLF, and the CR is not part of the body.
			if t == 1 && len(chunk) == 1 && !lineStart && prevCR {
				t = 2
			}
			prevTerm = t
			prevCR = chunk[len(chunk)-1] == '\r'
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if partStart < 0 {
		p.Problems = append(p.Problems, &offsetError{p.BodyStart, ErrBoundaryAbsent})
		return nil
	}
	if !closed {
		p.Problems = append(p.Problems, &offsetError{p.End, ErrNoClose})
		if partStart < p.End {
			spans = append(spans, span{partStart, p.End})
		}
	}
	for i, sp := range spans {
		c, err := s.entity(p.Src, sp.start, sp.end, childPath(p.Path, i+1), depth+1)
		if err != nil {
			return err
		}
		p.Children = append(p.Children, c)
	}
	return nil
}

func childPath(parent string, n int) string {
	if parent == "" {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("%s.%d", parent, n)
}

func (s *scanner) embedded(p *Part, depth int) error {
	enc := strings.ToLower(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding")))
	switch enc {
	case "", "7bit", "8bit", "binary":
		e, err := s.entity(p.Src, p.BodyStart, p.End, p.Path, depth+1)
		if err != nil {
			return err
		}
		p.Embedded = e
		return nil
	}
	body, err := p.Body()
	if err != nil {
		p.Problems = append(p.Problems, err)
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(body, s.lim.MaxEmbedded+1))
	if err != nil {
		p.Problems = append(p.Problems, &offsetError{p.BodyStart, err})
		return nil
	}
	if int64(len(data)) > s.lim.MaxEmbedded {
		return &offsetError{p.BodyStart, ErrEmbeddedTooBig}
	}
	e, err := s.entity(bytes.NewReader(data), 0, int64(len(data)), p.Path, depth+1)
	if err != nil {
		return err
	}
	p.Embedded = e
	return nil
}

// offsetError places an error at a byte offset of the source.
type offsetError struct {
	Offset int64
	Err    error
}

func (e *offsetError) Error() string { return fmt.Sprintf("at byte %d: %v", e.Offset, e.Err) }
func (e *offsetError) Unwrap() error { return e.Err }

// Offset returns the byte offset an error of this package refers to, or -1.
func Offset(err error) int64 {
	var oe *offsetError
	if errors.As(err, &oe) {
		return oe.Offset
	}
	return -1
}
