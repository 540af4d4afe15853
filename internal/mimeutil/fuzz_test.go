package mimeutil

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzLimits are small, so that the fuzzer reaches every limit.
var fuzzLimits = &Limits{MaxDepth: 4, MaxParts: 40, MaxHeaderBytes: 1024, MaxEmbedded: 4096}

// FuzzScan checks that Scan never panics, that it fails only with its
// limit errors or an unreadable header, and that what it returns is a
// consistent tree: Start <= BodyStart <= End within the source, children
// in order inside the body of their parent, an embedded message spanning
// the body of its part (or the whole of its decoded copy), and the limits
// obeyed. Each input is scanned with the default limits and with small
// ones. Seeds: the handmade messages of TestScan and the corpus.
func FuzzScan(f *testing.F) {
	for _, tc := range scanCases {
		f.Add([]byte(tc.in))
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "*.eml"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, lim := range []*Limits{nil, fuzzLimits} {
			root, err := Scan(bytesReaderAt(b), int64(len(b)), lim)
			again, err2 := Scan(bytesReaderAt(b), int64(len(b)), lim)
			if fmt.Sprint(err) != fmt.Sprint(err2) {
				t.Fatalf("nondeterministic: %v / %v", err, err2)
			}
			if err != nil {
				if root != nil {
					t.Fatal("part returned with an error")
				}
				if !limitError(err) && !strings.Contains(err.Error(), "header: ") {
					t.Fatalf("unexpected error: %v", err)
				}
				continue
			}
			checkTree(t, root, int64(len(b)), lim)
			if a, b := describe(root), describe(again); a != b {
				t.Fatalf("nondeterministic tree:\n%s\n%s", a, b)
			}
		}
	})
}

func limitError(err error) bool {
	for _, e := range []error{ErrTooDeep, ErrTooManyParts, ErrHeaderTooLarge, ErrEmbeddedTooBig} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// describe prints the tree with the offsets of every entity.
func describe(p *Part) string {
	var b strings.Builder
	p.Walk(func(q *Part) bool {
		fmt.Fprintf(&b, "%q %s %d %d %d %d %d\n", q.Path, q.MediaType, q.Start, q.BodyStart, q.End, len(q.Children), len(q.Problems))
		return true
	})
	return b.String()
}

// srcSize returns the size of the source of p: size for the scanned input,
// the length of the decoded copy for a transfer-encoded message/rfc822.
func srcSize(p *Part, root *Part, size int64) int64 {
	if p.Src == root.Src {
		return size
	}
	if s, ok := p.Src.(interface{ Size() int64 }); ok {
		return s.Size()
	}
	return -1
}

// checkTree checks the invariants of a scanned tree; lim nil means the
// default limits.
func checkTree(t *testing.T, root *Part, size int64, lim *Limits) {
	t.Helper()
	l := lim.withDefaults()
	if root.Path != "" || root.Start != 0 || root.End != size {
		t.Fatalf("root %q spans %d..%d, want \"\" 0..%d", root.Path, root.Start, root.End, size)
	}
	count := 0
	var walk func(p *Part, depth int)
	walk = func(p *Part, depth int) {
		count++
		n := srcSize(p, root, size)
		if !(0 <= p.Start && p.Start <= p.BodyStart && p.BodyStart <= p.End && p.End <= n) {
			t.Fatalf("part %q: Start %d, BodyStart %d, End %d, source of %d bytes", p.Path, p.Start, p.BodyStart, p.End, n)
		}
		if p.MediaType == "" || p.MediaType != strings.ToLower(p.MediaType) {
			t.Fatalf("part %q: media type %q", p.Path, p.MediaType)
		}
		if raw, err := io.ReadAll(p.Raw()); err != nil || int64(len(raw)) != p.Size() {
			t.Fatalf("part %q: Raw gave %d bytes (%v), Size %d", p.Path, len(raw), err, p.Size())
		}
		if depth > l.MaxDepth+1 {
			t.Fatalf("part %q at depth %d, limit %d", p.Path, depth, l.MaxDepth)
		}
		if len(p.Children) > 0 && !strings.HasPrefix(p.MediaType, "multipart/") {
			t.Fatalf("part %q of type %s has children", p.Path, p.MediaType)
		}
		prevEnd := p.BodyStart
		for i, c := range p.Children {
			if want := childPath(p.Path, i+1); c.Path != want {
				t.Fatalf("child %d of %q has path %q, want %q", i+1, p.Path, c.Path, want)
			}
			if c.Src != p.Src {
				t.Fatalf("child %q reads another source than its parent", c.Path)
			}
			if c.Start < prevEnd || c.End > p.End {
				t.Fatalf("child %q spans %d..%d outside its parent's body %d..%d (previous sibling ends at %d)",
					c.Path, c.Start, c.End, p.BodyStart, p.End, prevEnd)
			}
			prevEnd = c.End
			checkDelimited(t, p, c, i == len(p.Children)-1)
			walk(c, depth+1)
		}
		if e := p.Embedded; e != nil {
			if p.MediaType != "message/rfc822" && p.MediaType != "message/global" {
				t.Fatalf("part %q of type %s has an embedded message", p.Path, p.MediaType)
			}
			if e.Path != p.Path {
				t.Fatalf("embedded message of %q has path %q", p.Path, e.Path)
			}
			if e.Src == p.Src {
				if e.Start != p.BodyStart || e.End != p.End {
					t.Fatalf("embedded message of %q spans %d..%d, its body %d..%d", p.Path, e.Start, e.End, p.BodyStart, p.End)
				}
			} else if s := srcSize(e, root, size); e.Start != 0 || e.End != s || s > l.MaxEmbedded {
				t.Fatalf("decoded message of %q spans %d..%d of %d bytes (limit %d)", p.Path, e.Start, e.End, s, l.MaxEmbedded)
			}
			walk(e, depth+1)
		}
	}
	walk(root, 0)
	if count > l.MaxParts {
		t.Fatalf("%d entities, limit %d", count, l.MaxParts)
	}
}

// checkDelimited checks that child c of multipart p lies between delimiter
// lines: it starts after a line end and is followed by the line end that
// belongs to the next delimiter, then the delimiter. Only the last child of
// an unclosed multipart may run to the end of p. A part never ends between
// the CR and the LF of a line end.
func checkDelimited(t *testing.T, p, c *Part, last bool) {
	t.Helper()
	at := func(off, n int64) []byte {
		n = max(0, min(n, p.End-off))
		b := make([]byte, n)
		k, _ := p.Src.ReadAt(b, off)
		return b[:k]
	}
	if b := at(c.Start-1, 1); c.Start == 0 || len(b) != 1 || b[0] != '\n' {
		t.Fatalf("part %q starts at %d, not after a line end", c.Path, c.Start)
	}
	if c.End == p.End && last {
		return
	}
	boundary, _ := p.Param("boundary")
	delim := "--" + boundary
	next := string(at(c.End, int64(len(delim))+2))
	switch {
	case strings.HasPrefix(next, "\r\n"+delim), strings.HasPrefix(next, "\n"+delim):
	case c.End == c.Start && strings.HasPrefix(next, delim): // consecutive delimiters
	default:
		t.Fatalf("part %q ends at %d before %q, not before a delimiter", c.Path, c.End, next)
	}
	if b := at(c.End-1, 2); c.End > c.Start && string(b) == "\r\n" {
		t.Fatalf("part %q ends at %d between the CR and the LF of a line end", c.Path, c.End)
	}
}

// spaceSkipper drops spaces and tabs: with base64.NewDecoder, which drops
// CR and LF, the reference b64Reader is checked against.
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
		if j > 0 || n == 0 || err != nil {
			return j, err
		}
	}
}

// FuzzBase64 checks b64Reader against base64.NewDecoder over the body
// with spaces and tabs dropped: the same bytes, and an error exactly when
// the decoder fails. Padding inside the body is left out of the
// comparison: the decoder accepts it or not depending on where its reads
// happen to cut the input, b64Reader on where its blocks do.
func FuzzBase64(f *testing.F) {
	f.Add([]byte("QUJD\r\nREVG\r\n"), 3)
	f.Add([]byte(" QUJD\tREVG\nQQ==\n"), 1)
	f.Add([]byte("QUJ"), 7)
	f.Add([]byte("QU*D"), 7)
	f.Add([]byte(strings.Repeat("QUJDREVG\r\n", 5000)), 8192)
	f.Fuzz(func(t *testing.T, raw []byte, chunk int) {
		chunk = 1 + abs(chunk)%40000
		want, werr := io.ReadAll(base64.NewDecoder(base64.StdEncoding, &spaceSkipper{r: bytes.NewReader(raw)}))
		var got []byte
		r := newB64Reader(bytes.NewReader(raw))
		buf := make([]byte, chunk)
		var gerr error
		for {
			n, err := r.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				gerr = err
				break
			}
		}
		var viaWriteTo bytes.Buffer
		_, wterr := newB64Reader(bytes.NewReader(raw)).WriteTo(&viaWriteTo)
		if !bytes.Equal(viaWriteTo.Bytes(), got) || fmt.Sprint(wterr) != fmt.Sprint(gerr) {
			t.Fatalf("WriteTo %q, %v; Read %q, %v", viaWriteTo.Bytes(), wterr, got, gerr)
		}
		stripped := bytes.TrimRight(bytes.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, raw), "=")
		if bytes.IndexByte(stripped, '=') >= 0 {
			return
		}
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("decoder error %v, b64Reader error %v", werr, gerr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("decoder %q, b64Reader %q", want, got)
		}
		if errors.Is(werr, io.ErrUnexpectedEOF) != errors.Is(gerr, io.ErrUnexpectedEOF) {
			t.Fatalf("decoder error %v, b64Reader error %v", werr, gerr)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// FuzzMediaType checks parseMediaTypeStd against mime.ParseMediaType.
func FuzzMediaType(f *testing.F) {
	for _, s := range []string{"text/plain", "Multipart/Mixed; boundary=\"----=_Part_1\"", "application/pdf; name=a.pdf",
		"text/plain; charset=ISO-8859-1; format=flowed", "attachment; filename*=UTF-8''a.pdf", "text/plain;", "a/b; x=\"\"",
		"text/plain; name=\"a\\\"b\"", " text/plain ; charset = utf-8 ", "text/plain; a=1; A=2", "x/y; a=\"1;2\"", "text/",
		"multipart/mixed; Boundary=b1; CHARSET=x", "a/b; a=1; b=2; c=3; d=4; e=5; f=6; g=7; h=8; x=9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		gt, gp, gerr := parseMediaTypeStd(v)
		wt, wp, werr := mime.ParseMediaType(v)
		if gt != wt || fmt.Sprint(gerr) != fmt.Sprint(werr) || fmt.Sprint(gp) != fmt.Sprint(wp) || (gp == nil) != (wp == nil) {
			t.Fatalf("%q: %q %v %v; mime %q %v %v", v, gt, gp, gerr, wt, wp, werr)
		}
		// One parameter looked up without the map, as Part.Param does.
		for _, k := range []string{"charset", "boundary", "name", "x", "a"} {
			val, found, ok := mediaParam(v, k)
			if !ok {
				continue
			}
			if wv, wf := wp[k]; werr != nil || val != wv || found != wf {
				t.Fatalf("%q: mediaParam(%s) = %q %v; mime %q %v %v", v, k, val, found, wv, wf, werr)
			}
		}
	})
}
