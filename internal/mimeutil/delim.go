package mimeutil

import (
	"bytes"
	"io"
)

// Delimiter lines (RFC 2046 §5.1.1) start a line with "--". Rather than
// search the body of each multipart for its boundary, which examines the
// bytes of a nested part once per enclosing multipart, a scan finds once
// the lines of a source that start with "--" (lineStarts) and each
// multipart looks at those within its body only: each byte of the
// source is examined once, whatever the nesting.

// maxLineStarts bounds the lines starting with "--" indexed in one
// source; a source with more is searched window by window
// (multipartWindowed), in memory that does not depend on its content.
const maxLineStarts = 1 << 12

// maxKeptStarts bounds the index a pooled scanner keeps.
const maxKeptStarts = 4 << 10

// lineStarts are the offsets, ascending, of the lines of src that start
// with "--" (other than at its first byte), when there are at most
// maxLineStarts of them (ok).
type lineStarts struct {
	src io.ReaderAt
	at  []int64
	ok  bool
}

// lineStarts returns the index of src, made on first use; ok is false
// when src has too many lines starting with "--", or is not a source the
// scanner knows the size of.
func (s *scanner) lineStarts(src io.ReaderAt) ([]int64, bool) {
	for i := range s.starts {
		if s.starts[i].src == src {
			return s.starts[i].at, s.starts[i].ok
		}
	}
	var ls lineStarts
	if len(s.starts) < cap(s.starts) {
		ls.at = s.starts[:len(s.starts)+1][len(s.starts)].at[:0]
	}
	if ls.at == nil {
		ls.at = make([]int64, 0, 64)
	}
	ls.src = src
	ls.ok = true
	// "\n--" is found by its first "-": most of a message is base64,
	// which has none.
	add := func(b []byte, base int64) {
		for i := 0; ls.ok; {
			k := bytes.IndexByte(b[i:], '-')
			if k < 0 {
				return
			}
			i += k + 1 // after the "-"
			if i < 2 || i >= len(b) || b[i-2] != '\n' || b[i] != '-' {
				continue
			}
			if len(ls.at) == maxLineStarts {
				ls.ok = false
				return
			}
			ls.at = append(ls.at, base+int64(i-1))
		}
	}
	switch {
	case s.windowed:
		ls.ok = false
	case isMem(src):
		add(src.(*memSource).b, 0)
	case src == s.src:
		// Read a window at a time; consecutive windows overlap by two
		// bytes, so that a "\n--" across them is found (once).
		buf := *s.window()
		for base := int64(0); base < s.size && ls.ok; {
			n, err := src.ReadAt(buf[:min(int64(len(buf)), s.size-base)], base)
			if n == 0 {
				if err == nil {
					err = io.ErrUnexpectedEOF
				}
				ls.ok = false
				break
			}
			add(buf[:n], base)
			if base+int64(n) >= s.size {
				break
			}
			base += int64(max(n-2, 1))
		}
	default:
		ls.ok = false
	}
	s.starts = append(s.starts, ls)
	return ls.at, ls.ok
}

func isMem(src io.ReaderAt) bool {
	_, ok := src.(*memSource)
	return ok
}

// multipart finds the body parts of p (RFC 2046 §5.1.1): delimiter lines,
// "--" boundary at the start of a line, optionally "--" (the close
// delimiter) and white space. The candidates are the first line of the
// body and the lines of the source that start with "--" (lineStarts);
// a source with too many of them is searched window by window.
func (s *scanner) multipart(p *Part, depth int) error {
	starts, ok := s.lineStarts(p.Src)
	if !ok {
		return s.multipartWindowed(p, depth)
	}
	boundary, _ := p.Param("boundary")
	if boundary == "" {
		p.Problems = append(p.Problems, &offsetError{p.Start, ErrNoBoundary})
		return nil
	}
	// The delimiter is not used once bodyParts, which recurses, is
	// called: the scanner's buffer holds it.
	s.delim = append(append(s.delim[:0], "--"...), boundary...)
	delim := s.delim
	var spans []span
	partStart := int64(-1)
	closed := false
	// The body starts a line, whatever precedes it.
	next := after(starts, p.BodyStart)
	off := p.BodyStart
	for !closed {
		if off+int64(len(delim)) > p.End {
			break // starts ascend: no later line holds the delimiter either
		}
		line, err := s.delimAt(p, off, delim)
		if err != nil {
			return err
		}
		if line != nil {
			rest := line[len(delim):]
			isClose := bytes.HasPrefix(rest, []byte("--"))
			if isClose {
				rest = rest[2:]
			}
			if len(bytes.TrimRight(rest, " \t\r\n")) == 0 {
				if partStart >= 0 {
					// The CRLF (or LF) before the delimiter belongs to it.
					e := off - 1
					if off-2 >= p.BodyStart {
						if c, err := s.byteAt2(p.Src, off-2); err == nil && c == '\r' {
							e = off - 2
						}
					}
					spans = append(spans, span{partStart, max(e, partStart)})
					if len(spans) > s.lim.MaxParts-s.parts {
						return ErrTooManyParts // each span is a part: fail before holding them all
					}
				}
				partStart = off + int64(len(line))
				closed = isClose
			}
		}
		// The next line starting with "--" after this one and after the
		// delimiter line just read.
		for next < len(starts) && starts[next] < max(partStart, off+1) {
			next++
		}
		if next == len(starts) {
			break
		}
		off = starts[next]
		next++
	}
	return s.bodyParts(p, spans, partStart, closed, depth)
}

// after returns the index of the first of starts (ascending) after off.
func after(starts []int64, off int64) int {
	lo, hi := 0, len(starts)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if starts[m] <= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// delimAt returns the line at off when it starts with delim, as the line
// reader would give it (see delimLine); nil when it does not.
func (s *scanner) delimAt(p *Part, off int64, delim []byte) ([]byte, error) {
	var w []byte
	if m, ok := p.Src.(*memSource); ok {
		w = m.b[off:p.End]
	} else {
		n := min(p.End-off, int64(len(delim))+256)
		if int64(cap(s.peek)) < n {
			s.peek = make([]byte, n)
		}
		k, err := p.Src.ReadAt(s.peek[:n], off)
		if int64(k) < n {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		w = s.peek[:n]
	}
	if !bytes.HasPrefix(w, delim) {
		return nil, nil
	}
	return s.delimLine(p, off, w, off+int64(len(w)) == p.End)
}

// byteAt2 returns the byte of src at off.
func (s *scanner) byteAt2(src io.ReaderAt, off int64) (byte, error) {
	if m, ok := src.(*memSource); ok {
		return m.b[off], nil
	}
	_, err := src.ReadAt(s.one[:], off)
	return s.one[0], err
}
