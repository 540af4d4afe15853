package mimeutil

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

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
	Path      string      // "" for the message, "1", "1.2" for parts (IMAP numbering)
	Src       io.ReaderAt // the bytes the offsets refer to
	Start     int64       // first byte of the header
	BodyStart int64       // first byte of the body
	End       int64       // end of the body, exclusive (the CRLF before a delimiter is not part of it)
	MediaType string      // lower-case media type; text/plain when absent
	Children  []*Part     // parts of a multipart
	Embedded  *Part       // the message inside a message/rfc822 part
	Problems  []error     // defects tolerated while scanning this entity

	fields   string // the header's fields, as splitHeader writes them
	encoding string // Content-Transfer-Encoding, lower-cased and trimmed
	ctValue  string // the Content-Type value
	ctErr    error  // mime.ParseMediaType's error on it

	hdr atomic.Pointer[textproto.Header] // made on first use
}

// Header returns the entity's header, as go-message's
// textproto.ReadHeader reads it. It is made on first use: most parts
// are only asked for a field or two (Get).
func (p *Part) Header() textproto.Header {
	if h := p.hdr.Load(); h != nil {
		return *h
	}
	// Callers that race build the same header; the first one stored is
	// the one every caller returns. A pointer, not a sync.Once beside
	// the header, keeps the Part of a part whose header is never asked
	// for (most) smaller.
	h := buildHeader(p.fields)
	p.hdr.CompareAndSwap(nil, &h)
	return *p.hdr.Load()
}

// Get returns the value of the first header field named key, as
// Header().Get(key) does, without making the header.
func (p *Part) Get(key string) string { return headerGet(p.fields, key) }

// Scan reads the MIME structure of the message held in src[0:size].
func Scan(src io.ReaderAt, size int64, lim *Limits) (*Part, error) {
	s := scanners.Get().(*scanner)
	defer s.release()
	s.lim = lim.withDefaults()
	s.src, s.size = src, size
	p, err := s.entity(src, 0, size, "", 0)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// scanner holds the buffers of one Scan; they are reused by the next one
// (scanners), so that scanning a message allocates no buffer per part.
type scanner struct {
	lim    Limits
	parts  int
	buf    *bufio.Reader // the lines of the source
	hbuf   *bufio.Reader // the lines of a header
	sec    io.SectionReader
	hdr    []byte  // the header being read
	fields []byte  // its fields, as splitHeader writes them
	win    *[]byte // the window of delimiter searches
	line   []byte  // a delimiter line read apart
	// refSearch, set by tests, replaces the delimiter search with the
	// reference one.
	refSearch func(p *Part, depth int) error
	// windowed, set by tests, makes every search windowed.
	windowed bool
	src      io.ReaderAt // the source Scan was given, of size bytes
	size     int64
	starts   []lineStarts // the candidate delimiter lines of each source searched
	peek     []byte       // the start of a candidate line, read apart
	one      [1]byte      // a byte read apart
	delim    []byte       // the delimiter multipart searches for
	slab     []Part       // parts not yet handed out, of this Scan only
}

// partSlab is how many Parts a scan allocates at once: a receipt has
// about seven, an envelope ten or more.
const partSlab = 8

// newPart returns a zero Part from the slab of this scan.
func (s *scanner) newPart() *Part {
	if len(s.slab) == 0 {
		s.slab = make([]Part, partSlab)
	}
	p := &s.slab[0]
	s.slab = s.slab[1:]
	return p
}

// maxKeptHeader bounds the header buffer a pooled scanner keeps.
const maxKeptHeader = 64 << 10

var scanners = sync.Pool{New: func() any {
	return &scanner{buf: bufio.NewReaderSize(nil, 32<<10), hbuf: bufio.NewReaderSize(nil, 4<<10)}
}}

func (s *scanner) release() {
	s.parts = 0
	s.slab = nil // the parts left belong with those handed out
	s.refSearch = nil
	s.windowed = false
	s.src = nil
	for i := range s.starts {
		s.starts[i].src = nil
		if cap(s.starts[i].at) > maxKeptStarts {
			s.starts[i].at = nil
		}
	}
	s.starts = s.starts[:0]
	s.sec = io.SectionReader{}
	s.buf.Reset(nil)
	s.hbuf.Reset(nil)
	if cap(s.hdr) > maxKeptHeader {
		s.hdr = nil
	}
	if cap(s.fields) > maxKeptHeader {
		s.fields = nil
	}
	if cap(s.line) > maxKeptHeader {
		s.line = nil
	}
	if cap(s.delim) > maxKeptHeader || cap(s.peek) > maxKeptHeader {
		s.delim, s.peek = nil, nil
	}
	s.hdr = s.hdr[:0]
	scanners.Put(s)
}

// headerLines returns an iterator over src[start:end] for reading a
// header: through a small buffer, so that each part costs the bytes of
// its header, not a buffer's worth of its body. Lines longer than the
// buffer come in pieces, as they do from lines.
func (s *scanner) headerLines(src io.ReaderAt, start, end int64) lines {
	s.sec = *io.NewSectionReader(src, start, end-start)
	s.hbuf.Reset(&s.sec)
	return lines{r: s.hbuf, off: start, atStart: true}
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
	n := len(line)
	switch {
	case n >= 2 && line[n-1] == '\n' && line[n-2] == '\r':
		return 2
	case n >= 1 && line[n-1] == '\n':
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
	p := s.newPart()
	p.Path, p.Src, p.Start, p.End = path, src, start, end
	// Header: lines up to the first empty one.
	hdr := s.hdr[:0]
	ls := s.headerLines(src, start, end)
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
	fields, err := splitHeader(s.fields, hdr)
	if err != nil {
		return nil, &offsetError{start, fmt.Errorf("header: %w", err)}
	}
	s.fields = fields
	p.fields = string(fields)
	cte, ct := headerGet2(p.fields, "Content-Transfer-Encoding", "Content-Type")
	p.encoding = encodingName(cte)
	p.ctValue = ct
	p.MediaType, p.ctErr = contentType(p.ctValue)

	switch {
	case strings.HasPrefix(p.MediaType, "multipart/"):
		search := s.multipart
		if s.refSearch != nil {
			search = s.refSearch
		}
		if err := search(p, depth); err != nil {
			return nil, err
		}
	case p.MediaType == "message/rfc822" || p.MediaType == "message/global":
		if err := s.embedded(p, depth); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// encodingName returns a Content-Transfer-Encoding value lower-cased and
// trimmed, the usual ones without allocating.
func encodingName(v string) string {
	v = strings.TrimSpace(v)
	for _, e := range [...]string{"base64", "quoted-printable", "7bit", "8bit", "binary"} {
		if strings.EqualFold(v, e) {
			return e
		}
	}
	return strings.ToLower(v)
}

// contentType returns the media type of a Content-Type value, and
// mime.ParseMediaType's error on it.
func contentType(v string) (string, error) {
	if v == "" {
		return "text/plain", nil
	}
	if t, ok := walkMediaType(v, nil); ok {
		return t, nil
	}
	t, _, err, strictErr := parseMediaType(v)
	if err != nil || t == "" {
		return "text/plain", strictErr
	}
	return t, strictErr
}

// Param returns the Content-Type parameter name (lower-case), as
// mime.ParseMediaType reads it: none when the value is not one it reads.
// found says whether the parameter is there.
func (p *Part) Param(name string) (val string, found bool) {
	if p.ctValue == "" || p.ctErr != nil {
		return "", false
	}
	if val, found, ok := mediaParam(p.ctValue, name); ok {
		return val, found
	}
	_, params, _ := mime.ParseMediaType(p.ctValue)
	val, found = params[name]
	return val, found
}

// delimWindow is how much of a multipart body is searched at a time for
// delimiters.
const delimWindow = 32 << 10

// multipartWindowed finds the body parts of p as multipart does, by
// searching the body for the boundary with bytes.Index a window at a
// time: a large attachment costs a memory scan per enclosing multipart.
// It is the search of a source with too many lines that start with "--"
// for multipart's index of them.
func (s *scanner) multipartWindowed(p *Part, depth int) error {
	boundary, _ := p.Param("boundary")
	if boundary == "" {
		p.Problems = append(p.Problems, &offsetError{p.Start, ErrNoBoundary})
		return nil
	}
	delim := []byte("--" + boundary)
	var spans []span
	partStart := int64(-1)
	closed := false
	buf := *s.window()
	// The window is buf[:n], holding src[base:base+n]; the byte before it
	// is prev.
	base := p.BodyStart
	prev := byte('\n') // the body starts a line
	mem, inMemory := p.Src.(*memSource)
	for !closed && base < p.End {
		var w []byte
		if inMemory {
			// Searched in place, not copied into the window.
			w = mem.b[base:min(base+int64(len(buf)), p.End)]
		} else {
			n, err := p.Src.ReadAt(buf[:min(int64(len(buf)), p.End-base)], base)
			if n == 0 && err != nil {
				return err
			}
			w = buf[:n]
		}
		n := len(w)
		for i := 0; !closed; {
			j := bytes.Index(w[i:], delim)
			if j < 0 {
				break
			}
			i += j
			off := base + int64(i)
			before := prev
			if i > 0 {
				before = w[i-1]
			}
			if before != '\n' {
				i++
				continue
			}
			line, err := s.delimLine(p, off, w[i:], base+int64(n) == p.End)
			if err != nil {
				return err
			}
			rest := line[len(delim):]
			isClose := bytes.HasPrefix(rest, []byte("--"))
			if isClose {
				rest = rest[2:]
			}
			if len(bytes.TrimRight(rest, " \t\r\n")) != 0 {
				i++
				continue
			}
			if partStart >= 0 {
				// The CRLF (or LF) before the delimiter belongs to it.
				e := off - 1
				if off-2 >= p.BodyStart && s.byteAt(p.Src, off-2, w, base) == '\r' {
					e = off - 2
				}
				spans = append(spans, span{partStart, max(e, partStart)})
				if len(spans) > s.lim.MaxParts-s.parts {
					return ErrTooManyParts // each span is a part: fail before holding them all
				}
			}
			partStart = off + int64(len(line))
			closed = isClose
			// Go on after the delimiter line (it may end past the window).
			if next := partStart - base; next < int64(n) {
				i = int(next)
			} else {
				break
			}
		}
		if closed {
			break
		}
		// The next window starts after this one, or at the line after a
		// delimiter found near its end; it overlaps this one by enough
		// to find a delimiter that straddles the two.
		next := base + int64(n)
		if next < p.End {
			next = max(next-int64(len(delim)), base+1)
		}
		if partStart > next {
			next = partStart
		}
		if next > base {
			prev, _ = s.readByte(p.Src, next-1, w, base)
		}
		base = next
	}
	return s.bodyParts(p, spans, partStart, closed, depth)
}

// span is a body part of a multipart: src[start:end].
type span struct{ start, end int64 }

// bodyParts scans the body parts of p the delimiters were found
// around: spans, and after the last delimiter, at partStart (-1 when
// none was found), what follows when the close delimiter was not found.
func (s *scanner) bodyParts(p *Part, spans []span, partStart int64, closed bool, depth int) error {
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
	if len(spans) > 0 {
		p.Children = make([]*Part, 0, min(len(spans), max(s.lim.MaxParts-s.parts, 0)))
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

// delimLine returns the line that starts at off, as the line reader would
// give it: through its LF, or at most the size of its buffer, or to the
// end of the body. w holds the source from off on (part of it).
func (s *scanner) delimLine(p *Part, off int64, w []byte, wEnds bool) ([]byte, error) {
	limit := int64(s.buf.Size())
	if i := bytes.IndexByte(w[:min(int64(len(w)), limit)], '\n'); i >= 0 {
		return w[:i+1], nil
	}
	if wEnds && int64(len(w)) <= limit {
		return w, nil // the body ends within the window
	}
	// A long line, or one that runs past the window: read it apart.
	n := min(limit, p.End-off)
	if cap(s.line) < int(n) {
		s.line = make([]byte, n)
	}
	b := s.line[:n]
	k, err := p.Src.ReadAt(b, off)
	if k < len(b) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i+1], nil
	}
	return b, nil
}

// byteAt returns the byte of src at off, from the window w (holding src
// from base) when it is there.
func (s *scanner) byteAt(src io.ReaderAt, off int64, w []byte, base int64) byte {
	b, _ := s.readByte(src, off, w, base)
	return b
}

func (s *scanner) readByte(src io.ReaderAt, off int64, w []byte, base int64) (byte, error) {
	if off >= base && off < base+int64(len(w)) {
		return w[off-base], nil
	}
	var b [1]byte
	_, err := src.ReadAt(b[:], off)
	return b[0], err
}

// window returns the scanner's buffer for delimiter searches.
func (s *scanner) window() *[]byte {
	if s.win == nil {
		b := make([]byte, delimWindow)
		s.win = &b
	}
	return s.win
}

func childPath(parent string, n int) string {
	if parent == "" {
		return strconv.Itoa(n)
	}
	return parent + "." + strconv.Itoa(n)
}

func (s *scanner) embedded(p *Part, depth int) error {
	switch p.Encoding() {
	case "", "7bit", "8bit", "binary":
		e, err := s.entity(p.Src, p.BodyStart, p.End, p.Path, depth+1)
		if err != nil {
			return err
		}
		p.Embedded = e
		return nil
	}
	body, err := p.Decoded()
	if err != nil {
		p.Problems = append(p.Problems, err)
		return nil
	}
	// The decoded message is kept (it is the source of its parts): read it
	// into a buffer of its size, not one grown by doubling.
	data, err := ReadAtMost(nil, body, p.DecodedBound(), s.lim.MaxEmbedded)
	if err != nil {
		p.Problems = append(p.Problems, &offsetError{p.BodyStart, err})
		return nil
	}
	if int64(len(data)) > s.lim.MaxEmbedded {
		return &offsetError{p.BodyStart, ErrEmbeddedTooBig}
	}
	e, err := s.entity(&memSource{data}, 0, int64(len(data)), p.Path, depth+1)
	if err != nil {
		return err
	}
	p.Embedded = e
	return nil
}

// memSource is a source held in memory: a message read into memory
// whole (InMemory), or the decoded copy of a transfer-encoded embedded
// message. It is read as a *bytes.Reader is, and the delimiter search
// and RawReader read it in place.
type memSource struct{ b []byte }

// InMemory returns a source for Scan over b, which the caller gives up:
// b must not change while the parts scanned from it are in use. Unlike
// a *bytes.Reader, it lets the scan and RawReader read b in place
// instead of copying it out piece by piece.
func InMemory(b []byte) io.ReaderAt { return &memSource{b} }

// ReadAt reads as bytes.Reader.ReadAt does.
func (m *memSource) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("mimeutil: negative offset")
	}
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Size returns the number of bytes held.
func (m *memSource) Size() int64 { return int64(len(m.b)) }

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
