package spooltest

import (
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"testing"
)

// genReader yields n pseudo-random bytes drawn from seed, without holding
// them: the same seed and n always give the same bytes.
type genReader struct {
	rng  *rand.ChaCha8
	left int64
}

func newGen(seed uint64, n int64) *genReader {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return &genReader{rng: rand.NewChaCha8(s), left: n}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	g.rng.Read(p)
	g.left -= int64(len(p))
	return len(p), nil
}

// genSum is the SHA-256 of the bytes newGen(seed, n) yields.
func genSum(seed uint64, n int64) [32]byte {
	h := sha256.New()
	io.Copy(h, newGen(seed, n))
	var s [32]byte
	h.Sum(s[:0])
	return s
}

// readSum reads rc to its end, closes it and returns the length and
// SHA-256 of what it read.
func readSum(t *testing.T, what string, rc io.ReadCloser) (int64, [32]byte) {
	t.Helper()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		t.Fatalf("%s: reading: %v", what, err)
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("%s: Close: %v", what, err)
	}
	var s [32]byte
	h.Sum(s[:0])
	return n, s
}

// failReader fails the test when it is read.
type failReader struct {
	t    *testing.T
	what string
}

func (f failReader) Read(p []byte) (int, error) {
	f.t.Errorf("%s: the reader was read", f.what)
	return 0, io.EOF
}

// errReader yields n bytes of gen, then err.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, e.err
	}
	return n, err
}

// hookReader calls hook once after n bytes have been read.
type hookReader struct {
	r    io.Reader
	n    int64
	hook func()
}

func (h *hookReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if h.hook != nil {
		h.n -= int64(n)
		if h.n <= 0 {
			h.hook()
			h.hook = nil
		}
	}
	return n, err
}
