package client

import (
	"bytes"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/pecsdk/pec/internal/pecmsg"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/smime"
)

// A signed receipt of the sample set whose smime.p7s is swapped for a
// pathological BER signature: Classify must read it in time and memory
// linear in its size, refuse the signature, and still classify the
// message.

// p7sBody returns the offsets of the base64 body of the smime.p7s part
// of msg.
func p7sBody(t testing.TB, msg []byte) (start, end int) {
	t.Helper()
	i := bytes.Index(msg, []byte(`filename="smime.p7s"`))
	if i < 0 {
		t.Fatal("no smime.p7s part")
	}
	j := bytes.Index(msg[i:], []byte("\r\n\r\n"))
	if j < 0 {
		t.Fatal("smime.p7s part has no body")
	}
	start = i + j + 4
	k := bytes.Index(msg[start:], []byte("\r\n--"))
	if k < 0 {
		t.Fatal("smime.p7s part has no end")
	}
	return start, start + k
}

// withSignature returns msg with its smime.p7s replaced by sig.
func withSignature(t testing.TB, msg, sig []byte) []byte {
	t.Helper()
	start, end := p7sBody(t, msg)
	var b64 strings.Builder
	enc := base64.StdEncoding.EncodeToString(sig)
	for len(enc) > 76 {
		b64.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b64.WriteString(enc)
	out := append([]byte(nil), msg[:start]...)
	out = append(out, b64.String()...)
	return append(out, msg[end:]...)
}

// signatureOf returns the decoded smime.p7s of msg.
func signatureOf(t testing.TB, msg []byte) []byte {
	t.Helper()
	start, end := p7sBody(t, msg)
	sig, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(msg[start:end])))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// indefiniteWithJunk re-encodes the ContentInfo, its [0] and the
// SignedData of sig with indefinite lengths, as streaming encoders do,
// and appends junk to the contents of the certificate set.
func indefiniteWithJunk(t testing.TB, sig, junk []byte) []byte {
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
	indef := func(tag byte, parts ...[]byte) []byte {
		return append(append([]byte{tag, 0x80}, bytes.Join(parts, nil)...), 0, 0)
	}
	var children [][]byte
	for rest := sd.Bytes; len(rest) > 0; {
		var child asn1.RawValue
		if rest, err = asn1.Unmarshal(rest, &child); err != nil {
			t.Fatal(err)
		}
		if child.Class == asn1.ClassContextSpecific && child.Tag == 0 && len(junk) > 0 {
			children = append(children, indef(0xa0, child.Bytes, junk))
			continue
		}
		children = append(children, child.FullBytes)
	}
	return indef(0x30, oid.FullBytes, indef(0xa0, indef(0x30, children...)))
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

// flatJunk is n INTEGERs side by side, with no end-of-contents among
// them: a decoder that searches for the end of the enclosing element
// after each one reads the rest of the input every time.
func flatJunk(n int) []byte { return bytes.Repeat([]byte{0x02, 0x01, 0x00}, n) }

// nestedJunk is about size bytes of blocks of 60 nested indefinite
// SEQUENCEs around a short OCTET STRING: a decoder that re-encodes each
// level into a buffer of its own copies the input 60 times.
func nestedJunk(size int) []byte {
	block := append(bytes.Repeat([]byte{0x30, 0x80}, 60), 0x04, 0x02, 'A', 'A')
	block = append(block, make([]byte, 120)...)
	return bytes.Repeat(block, size/len(block))
}

// TestClassifyAdversarialBER classifies a delivery receipt whose signature
// is hostile BER: the message keeps its kind, the signature is refused as
// malformed (or, past pecmsg.MaxSignatureSize, as too large), and Classify
// allocates a few times the message's size, not a node per element or a
// copy per level of nesting.
func TestClassifyAdversarialBER(t *testing.T) {
	orig := samples(t).Messages[pec.KindDelivery]
	sig := signatureOf(t, orig)
	opts := verifyOpts(t)

	// The same signature in BER, without junk, is intact: the messages
	// below reach the signature check.
	if m := classifyBytes(t, withSignature(t, orig, indefiniteWithJunk(t, sig, nil))); m.Signature == nil || !m.Signature.Intact || !m.Signature.BER {
		t.Fatalf("BER signature: %v %v", verdictProblems(m.Signature), m.Problems)
	}

	room := pecmsg.MaxSignatureSize - len(sig) - 1024
	for _, tc := range []struct {
		name     string
		junk     []byte
		tooLarge bool // refused by size before it is decoded
	}{
		{"flat-250k", flatJunk(min(250_000, room/3)), false},
		{"nested", nestedJunk(room), false},
		{"deep", bytes.Repeat([]byte{0x30, 0x80}, room/2), false},
		{"over-size", flatJunk(pecmsg.MaxSignatureSize / 3), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := withSignature(t, orig, indefiniteWithJunk(t, sig, tc.junk))
			var m *Message
			n, count := allocated(func() {
				var err error
				if m, err = Classify(bytes.NewReader(msg), opts); err != nil {
					t.Fatal(err)
				}
			})
			t.Logf("%d bytes: kind %v, allocated %d bytes in %d allocations; signature %v; problems %v", len(msg), m.Kind, n, count, verdictProblems(m.Signature), m.Problems)
			if m.Kind != pec.KindDelivery {
				t.Errorf("kind %v, want %v", m.Kind, pec.KindDelivery)
			}
			if m.Signature == nil || m.Signature.Intact {
				t.Fatalf("hostile signature: %v", verdictProblems(m.Signature))
			}
			switch {
			case tc.tooLarge:
				if !hasErr(m.Problems, pec.ErrTooLarge) {
					t.Errorf("no ErrTooLarge among %v", m.Problems)
				}
			case !m.Signature.HasProblem(smime.ProblemMalformed):
				t.Errorf("problems %v, want %s", m.Signature.Problems, smime.ProblemMalformed)
			}
			// Reading the message, decoding the part, converting the
			// signature: a few copies of the input.
			if limit := uint64(6*len(msg) + 2<<20); n > limit {
				t.Errorf("allocated %d bytes for a message of %d, more than %d", n, len(msg), limit)
			}
		})
	}
}

// TestClassifyAdversarialBERLinear classifies receipts whose signatures
// carry n and 2n junk elements: the elements cost no allocation of their
// own, and the bytes allocated grow at most in proportion to the message.
func TestClassifyAdversarialBERLinear(t *testing.T) {
	orig := samples(t).Messages[pec.KindDelivery]
	sig := signatureOf(t, orig)
	opts := verifyOpts(t)
	measure := func(n int) (size int, b, count uint64) {
		msg := withSignature(t, orig, indefiniteWithJunk(t, sig, flatJunk(n)))
		b, count = allocated(func() {
			m, err := Classify(bytes.NewReader(msg), opts)
			if err != nil || m.Signature == nil || m.Signature.Intact {
				t.Fatalf("%v: %v", err, verdictProblems(m.Signature))
			}
		})
		return len(msg), b, count
	}
	s1, b1, c1 := measure(100_000)
	s2, b2, c2 := measure(200_000)
	t.Logf("%d bytes: %d bytes allocated in %d allocations; %d bytes: %d bytes in %d allocations", s1, b1, c1, s2, b2, c2)
	if c2 > c1+64 {
		t.Errorf("%d more allocations for %d more elements", c2-c1, 100_000)
	}
	if b2 > 2*b1+256<<10 {
		t.Errorf("allocated %d bytes for %d bytes, %d for %d: more than linear", b1, s1, b2, s2)
	}
}

// hasErr reports whether one of errs is target.
func hasErr(errs []error, target error) bool {
	for _, err := range errs {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// verdictProblems is what to print of a verdict that may be nil.
func verdictProblems(v *smime.Verdict) any {
	if v == nil {
		return "none"
	}
	return v.Problems
}
