package smime_test

import (
	"bytes"
	"encoding/asn1"
	"runtime"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/smime"
)

// The signatures below are built from a real signature of the test PKI:
// its ContentInfo, SignedData and certificate set are re-encoded with
// indefinite lengths (as a streaming encoder writes them), and junk
// elements follow the certificates. Parsing must reach the junk (a
// decoder that rejected the signature up front would prove nothing), and
// its cost must grow linearly with the junk, in time and in memory.

// junkSignature returns sig with junk appended to its certificate set,
// in BER (indefinite lengths) when ber is set, else in DER (definite
// lengths of the minimal form).
func junkSignature(t testing.TB, sig, junk []byte, ber bool) []byte {
	t.Helper()
	var ci, oid, explicit, sd asn1.RawValue
	if _, err := asn1.Unmarshal(sig, &ci); err != nil {
		t.Fatal(err)
	}
	rest, err := asn1.Unmarshal(ci.Bytes, &oid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Unmarshal(rest, &explicit); err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Unmarshal(explicit.Bytes, &sd); err != nil {
		t.Fatal(err)
	}
	wrap := func(tag byte, parts ...[]byte) []byte {
		content := bytes.Join(parts, nil)
		if ber {
			return append(append([]byte{tag, 0x80}, content...), 0, 0)
		}
		return append(append([]byte{tag}, derLength(len(content))...), content...)
	}
	var children [][]byte
	for rest := sd.Bytes; len(rest) > 0; {
		var child asn1.RawValue
		if rest, err = asn1.Unmarshal(rest, &child); err != nil {
			t.Fatal(err)
		}
		if child.Class == asn1.ClassContextSpecific && child.Tag == 0 {
			children = append(children, wrap(0xa0, child.Bytes, junk))
			continue
		}
		children = append(children, child.FullBytes)
	}
	return wrap(0x30, oid.FullBytes, wrap(0xa0, wrap(0x30, children...)))
}

// derLength is the DER encoding of a length (X.690 §8.1.3).
func derLength(n int) []byte {
	if n < 0x80 {
		return []byte{byte(n)}
	}
	var l []byte
	for v := n; v > 0; v >>= 8 {
		l = append([]byte{byte(v)}, l...)
	}
	return append([]byte{0x80 | byte(len(l))}, l...)
}

// flatJunk is n INTEGERs 0 side by side: zero octets everywhere but never
// two in a row, so a decoder that looks for the end-of-contents of the
// enclosing element after each of them searches the rest of the input
// every time, stopping at every zero.
func flatJunk(n int) []byte {
	return bytes.Repeat([]byte{0x02, 0x01, 0x00}, n)
}

// nestedJunk is about size bytes of blocks of depth nested SEQUENCEs
// around an OCTET STRING, with indefinite lengths when ber is set: a
// decoder that re-encodes each level into a buffer of its own copies the
// input depth times.
func nestedJunk(size, depth int, ber bool) []byte {
	octets := append([]byte{0x04, 0x81, 128}, bytes.Repeat([]byte{'A'}, 128)...)
	var block []byte
	if ber {
		block = append(bytes.Repeat([]byte{0x30, 0x80}, depth), octets...)
		block = append(block, make([]byte, 2*depth)...)
	} else {
		block = octets
		for range depth {
			block = append(append([]byte{0x30}, derLength(len(block))...), block...)
		}
	}
	return bytes.Repeat(block, max(1, size/len(block)))
}

// deepJunk is size bytes of SEQUENCEs each inside the one before, far
// deeper than any CMS structure.
func deepJunk(size int) []byte {
	return bytes.Repeat([]byte{0x30, 0x80}, size/2)
}

// adversarialSignatures are the pathological inputs of the tests and
// benchmarks, each a variant of sig.
func adversarialSignatures(t testing.TB, sig []byte) []struct {
	name string
	sig  []byte
} {
	return []struct {
		name string
		sig  []byte
	}{
		{"flat-250k-ber", junkSignature(t, sig, flatJunk(250_000), true)},
		{"nested-1MiB-ber", junkSignature(t, sig, nestedJunk(1<<20, 60, true), true)},
		{"nested-1MiB-der", junkSignature(t, sig, nestedJunk(1<<20, 60, false), false)},
		{"deep-1MiB-ber", junkSignature(t, sig, deepJunk(1<<20), true)},
	}
}

// allocated returns the bytes and the number of allocations fn makes.
func allocated(fn func()) (bytes, count uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, after.Mallocs - before.Mallocs
}

// TestAdversarialBER verifies each pathological signature: it is refused
// as malformed, and the memory its verification allocates is a small
// multiple of its size.
func TestAdversarialBER(t *testing.T) {
	f := testFixture(t)
	content, sig := signed(t, f.sha256, time.Date(2025, 6, 3, 8, 0, 0, 0, time.UTC))
	for _, tc := range adversarialSignatures(t, sig) {
		t.Run(tc.name, func(t *testing.T) {
			var v *smime.Verdict
			n, count := allocated(func() {
				var err error
				v, err = smime.Verify(bytes.NewReader(content), tc.sig, nil)
				if err != nil {
					t.Fatal(err)
				}
			})
			if v.Intact || !v.HasProblem(smime.ProblemMalformed) {
				t.Errorf("intact %v, problems %v", v.Intact, v.Problems)
			}
			t.Logf("%d bytes: allocated %d bytes in %d allocations; %v", len(tc.sig), n, count, v.Problems)
			// The signature is copied or converted once, and the
			// certificates parsed: a few times its size at most.
			if limit := uint64(4*len(tc.sig) + 1<<20); n > limit {
				t.Errorf("allocated %d bytes for a signature of %d, more than %d", n, len(tc.sig), limit)
			}
		})
	}
}

// TestAdversarialBERLinear verifies signatures with n and 2n junk elements
// of each shape: the junk costs no allocation of its own, and the bytes
// allocated grow at most in proportion to the input. A decoder that
// builds a node per element, or copies each level of nesting, fails.
func TestAdversarialBERLinear(t *testing.T) {
	f := testFixture(t)
	content, sig := signed(t, f.sha256, time.Date(2025, 6, 3, 8, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		name string
		junk func(n int) []byte
		ber  bool
	}{
		{"flat-ber", flatJunk, true},
		{"flat-der", flatJunk, false},
		{"nested-ber", func(n int) []byte { return nestedJunk(n*5, 60, true) }, true},
		{"nested-der", func(n int) []byte { return nestedJunk(n*5, 60, false) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			measure := func(n int) (size int, b, count uint64) {
				s := junkSignature(t, sig, tc.junk(n), tc.ber)
				b, count = allocated(func() {
					v, err := smime.Verify(bytes.NewReader(content), s, nil)
					if err != nil || v.Intact {
						t.Fatalf("intact %v, %v", v.Intact, err)
					}
				})
				return len(s), b, count
			}
			s1, b1, c1 := measure(50_000)
			s2, b2, c2 := measure(100_000)
			t.Logf("%d bytes: %d bytes allocated, %d allocations; %d bytes: %d bytes, %d allocations", s1, b1, c1, s2, b2, c2)
			if c2 > c1+64 {
				t.Errorf("%d more allocations for %d more junk bytes", c2-c1, s2-s1)
			}
			if b2 > 2*b1+64<<10 {
				t.Errorf("allocated %d bytes for %d input bytes, %d for %d: more than linear", b1, s1, b2, s2)
			}
		})
	}
}
