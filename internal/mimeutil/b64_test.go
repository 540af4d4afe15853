package mimeutil

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestStripSpace checks the word-at-a-time stripSpace against dropping
// the four bytes one by one.
func TestStripSpace(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	alpha := []byte("QUJD+/=\r\n \t\x00\x1f!\x7f\x80\xff")
	for range 20000 {
		b := make([]byte, rng.IntN(70))
		for i := range b {
			if rng.IntN(3) == 0 {
				b[i] = alpha[rng.IntN(len(alpha))]
			} else {
				b[i] = byte(rng.IntN(256))
			}
		}
		var ref []byte
		for _, c := range b {
			if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
				ref = append(ref, c)
			}
		}
		got := append([]byte(nil), b...)
		n := stripSpace(got)
		if !bytes.Equal(got[:n], ref) {
			t.Fatalf("stripSpace(%q) = %q, want %q", b, got[:n], ref)
		}
	}
}
