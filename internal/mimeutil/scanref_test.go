package mimeutil

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// multipartByLines is the delimiter search of multipart as it was, line by
// line through the scanner's buffer: the reference FuzzDelimiters holds
// the faster search to.
func (s *scanner) multipartByLines(p *Part, depth int) error {
	boundary, _ := p.Param("boundary")
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

// scanByLines scans with the reference delimiter search.
func scanByLines(src io.ReaderAt, size int64, lim *Limits) (*Part, error) {
	s := scanners.Get().(*scanner)
	defer s.release()
	s.lim = lim.withDefaults()
	s.refSearch = s.multipartByLines
	return s.entity(src, 0, size, "", 0)
}

// treeDump renders the structure of a scanned tree: offsets, types,
// problems.
// scanWindowed scans as Scan does with every multipart searched window
// by window, as a source with too many lines starting with "--" is.
func scanWindowed(src io.ReaderAt, size int64, lim *Limits) (*Part, error) {
	s := scanners.Get().(*scanner)
	defer s.release()
	s.lim = lim.withDefaults()
	s.src, s.size = src, size
	s.windowed = true
	return s.entity(src, 0, size, "", 0)
}

func treeDump(p *Part, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	var b bytes.Buffer
	p.Walk(func(q *Part) bool {
		fmt.Fprintf(&b, "%q %d %d %d %s %v\n", q.Path, q.Start, q.BodyStart, q.End, q.MediaType, q.Problems)
		return true
	})
	return b.String()
}

// TestDelimitersAsByLines: the windowed delimiter search finds the parts
// the line-by-line search finds, on the scan test cases and on messages
// whose delimiters straddle the search windows.
func TestDelimitersAsByLines(t *testing.T) {
	ins := []string{}
	for _, tc := range scanCases {
		ins = append(ins, tc.in)
	}
	for _, pad := range []int{delimWindow - 40, delimWindow - 7, delimWindow - 3, delimWindow, 2*delimWindow - 5, 40000} {
		filler := strings.Repeat("x", pad)
		ins = append(ins,
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n"+filler+"\r\n--b\r\n\r\ntwo\r\n--b--\r\n",
			"Content-Type: multipart/mixed; boundary=b\n\n--b\n\n"+filler+"\n--b  \n\nsecond\n--b--",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n"+filler+"\r\n--b\r\n\r\none\r\n--bb\r\n--b--\r\n",
			"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n"+filler+"--b\r\n--b"+strings.Repeat(" ", pad)+"\r\n\r\nx\r\n--b--",
		)
	}
	// More lines starting with "--" than the index takes: the windowed
	// search, for the outer multipart and the inner one.
	many := strings.Repeat("--x\r\n", maxLineStarts+1)
	ins = append(ins,
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n"+many+"\r\n--b\r\n\r\ntwo\r\n--b--\r\n",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\n\r\n"+
			many+"--c--\r\n--b\r\n\r\ntwo\r\n--b--\r\n",
		// A delimiter in the first line of a body, and in the last bytes.
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b--",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b",
	)
	for i, in := range ins {
		checkDelimiters(t, fmt.Sprint(i), []byte(in))
	}
}

func checkDelimiters(t *testing.T, name string, b []byte) {
	t.Helper()
	for _, lim := range []*Limits{nil, fuzzLimits} {
		want := treeDump(scanByLines(bytes.NewReader(b), int64(len(b)), lim))
		got := treeDump(Scan(bytes.NewReader(b), int64(len(b)), lim))
		if got != want {
			t.Fatalf("%s: indexed search:\n%.2000s\nline by line:\n%.2000s", name, got, want)
		}
		// In memory, as a decoded embedded message is searched.
		got = treeDump(Scan(&memSource{b}, int64(len(b)), lim))
		if got != want {
			t.Fatalf("%s: indexed search in memory:\n%.2000s\nline by line:\n%.2000s", name, got, want)
		}
		got = treeDump(scanWindowed(bytes.NewReader(b), int64(len(b)), lim))
		if got != want {
			t.Fatalf("%s: windowed search:\n%.2000s\nline by line:\n%.2000s", name, got, want)
		}
	}
}

// FuzzDelimiters: on any input, the windowed delimiter search finds the
// parts the line-by-line search finds.
func FuzzDelimiters(f *testing.F) {
	for _, tc := range scanCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkDelimiters(t, "fuzz", b) })
}
