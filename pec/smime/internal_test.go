package smime

import (
	"bytes"
	"encoding/asn1"
	"math/rand/v2"
	"strings"
	"testing"
)

// canonicalRef is the reference canonicalisation: every LF not preceded by
// CR becomes CRLF.
func canonicalRef(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' && (i == 0 || s[i-1] != '\r') {
			b.WriteByte('\r')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestCRLFWriter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	inputs := []string{"", "\n", "\r", "\r\n", "\n\n", "\r\r\n", "a\nb\r\nc\rd\n", strings.Repeat("line\n", 3000), strings.Repeat("x", 10000) + "\n"}
	for range 200 {
		b := make([]byte, rng.IntN(300))
		for i := range b {
			b[i] = "ab\r\n"[rng.IntN(4)]
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		want := canonicalRef(in)
		for _, chunk := range []int{1, 2, 3, 5, 4096, len(in) + 1} {
			var out bytes.Buffer
			w := &crlfWriter{w: &out}
			for s := in; len(s) > 0; {
				n := min(chunk, len(s))
				if m, err := w.Write([]byte(s[:n])); m != n || err != nil {
					t.Fatalf("Write = %d, %v", m, err)
				}
				s = s[n:]
			}
			if out.String() != want {
				t.Fatalf("chunk %d: %q -> %q, want %q", chunk, in, out.String(), want)
			}
			if w.changed != (want != in) {
				t.Fatalf("changed %v for %q", w.changed, in)
			}
		}
	}
}

func TestIsDER(t *testing.T) {
	long := der(tagOctetString, bytes.Repeat([]byte{1}, 300))
	for name, tc := range map[string]struct {
		b   []byte
		der bool
	}{
		"empty":              {nil, false},
		"null":               {[]byte{5, 0}, true},
		"sequence":           {[]byte{0x30, 3, 2, 1, 1}, true},
		"long-length":        {long, true},
		"non-minimal-short":  {[]byte{0x04, 0x81, 0x01, 'x'}, false},
		"non-minimal-zero":   {append([]byte{0x04, 0x83, 0x00}, long[2:]...), false},
		"indefinite":         {[]byte{0x30, 0x80, 5, 0, 0, 0}, false},
		"constructed-octets": {[]byte{0x24, 3, 4, 1, 'x'}, false},
		"trailing":           {[]byte{5, 0, 0}, false},
		"truncated":          {[]byte{0x30, 5, 2, 1}, false},
		"high-tag":           {[]byte{0x9f, 0x81, 0x01, 0}, true},
		"context-cons":       {[]byte{0xa0, 2, 5, 0}, true},
		"deep":               {bytes.Repeat([]byte{0x30, 0x80}, 100), false},
	} {
		if got := isDER(tc.b); got != tc.der {
			t.Errorf("%s: isDER = %v", name, got)
		}
	}
}

func TestDERLength(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 255, 256, 65535, 65536, 1 << 24} {
		b := der(tagOctetString, make([]byte, n))
		var got []byte
		rest, err := asn1.Unmarshal(b, &got)
		if err != nil || len(rest) != 0 || len(got) != n || !isDER(b) {
			t.Fatalf("length %d: %v", n, err)
		}
	}
}
