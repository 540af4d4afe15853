package smime_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/smime"
)

// benchContent is a first body part of about size bytes, in CRLF lines.
func benchContent(size int) []byte {
	var b bytes.Buffer
	b.WriteString("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	line := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", 3)[:76] + "\r\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	return b.Bytes()
}

var benchSizes = []struct {
	name string
	size int
}{{"100KB", 100 << 10}, {"10MB", 10 << 20}}

// BenchmarkSign streams a message through NewWriter to io.Discard: hashing,
// one RSA-2048 signature, and the MIME framing.
func BenchmarkSign(b *testing.B) {
	f := testFixture(b)
	for _, bs := range benchSizes {
		content := benchContent(bs.size)
		h := outerHeader(f.provider)
		b.Run(bs.name, func(b *testing.B) {
			b.SetBytes(int64(len(content)))
			b.ReportAllocs()
			for b.Loop() {
				w, err := f.sha256.NewWriter(io.Discard, h, time.Time{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := w.Write(content); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify verifies a SHA-256 signature over content read from a
// bytes.Reader, with the chain checked against the test roots.
func BenchmarkVerify(b *testing.B) {
	f := testFixture(b)
	opts := &smime.VerifyOptions{Roots: f.pki.Pool(), From: f.provider}
	for _, bs := range benchSizes {
		content := benchContent(bs.size)
		sig, err := f.sha256.SignDetached(bytes.NewReader(content), time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bs.name, func(b *testing.B) {
			b.SetBytes(int64(len(content)))
			b.ReportAllocs()
			for b.Loop() {
				v, err := smime.Verify(bytes.NewReader(content), sig, opts)
				if err != nil || !chainOK(v) {
					b.Fatal(err, v.Problems)
				}
			}
		})
	}
}

// BenchmarkVerifySmall verifies the signature of a small message (a
// receipt's size), where reading the signature is most of the work: with
// nil options (integrity: parse, digest, one RSA check) and with the
// chain checked against the test roots. The signature is strict DER, as
// every real provider signature in the corpus is.
func BenchmarkVerifySmall(b *testing.B) {
	f := testFixture(b)
	content, sig := signed(b, f.sha256, time.Date(2025, 6, 3, 8, 0, 0, 0, time.UTC))
	for _, bc := range []struct {
		name string
		sig  []byte
		opts *smime.VerifyOptions
	}{
		{"der", sig, nil},
		{"der-roots", sig, &smime.VerifyOptions{Roots: f.pki.Pool(), From: f.provider}},
		{"ber", indefinite(b, sig), nil},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(content) + len(bc.sig)))
			b.ReportAllocs()
			for b.Loop() {
				v, err := smime.Verify(bytes.NewReader(content), bc.sig, bc.opts)
				if err != nil || !v.Intact {
					b.Fatal(err, v.Problems)
				}
			}
		})
	}
}

// BenchmarkAdversarialBER verifies the pathological signatures of
// TestAdversarialBER: its figure per byte should be of the order of
// BenchmarkVerifySmall's, not grow with the size.
func BenchmarkAdversarialBER(b *testing.B) {
	f := testFixture(b)
	content, sig := signed(b, f.sha256, time.Date(2025, 6, 3, 8, 0, 0, 0, time.UTC))
	for _, bc := range adversarialSignatures(b, sig) {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.sig)))
			b.ReportAllocs()
			for b.Loop() {
				if v, err := smime.Verify(bytes.NewReader(content), bc.sig, nil); err != nil || v.Intact {
					b.Fatal(err, v.Intact)
				}
			}
		})
	}
}

// BenchmarkParseCertificates is the floor of reading a signature: parsing
// the certificates it carries, which every verification does.
func BenchmarkParseCertificates(b *testing.B) {
	f := testFixture(b)
	_, sig := signed(b, f.sha256, time.Date(2025, 6, 3, 8, 0, 0, 0, time.UTC))
	v, err := smime.Verify(bytes.NewReader(nil), sig, nil)
	if err != nil || len(v.Certificates) == 0 {
		b.Fatal(err, v.Problems)
	}
	var raw []byte
	for _, c := range v.Certificates {
		raw = append(raw, c.Raw...)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := x509.ParseCertificates(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRSA2048Verify is the floor of checking a signature value: one
// PKCS #1 v1.5 verification of a SHA-256 digest.
func BenchmarkRSA2048Verify(b *testing.B) {
	f := testFixture(b)
	key := f.key.(*rsa.PrivateKey)
	digest := sha256.Sum256([]byte("digest"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRSA2048Sign is the floor of signing: one PKCS #1 v1.5 signature
// of a SHA-256 digest.
func BenchmarkRSA2048Sign(b *testing.B) {
	f := testFixture(b)
	key := f.key.(*rsa.PrivateKey)
	digest := sha256.Sum256([]byte("digest"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSHA256_100KB and BenchmarkSHA256_10MB are the floor of hashing
// the content.
func BenchmarkSHA256_100KB(b *testing.B) { benchSHA256(b, 100<<10) }

func BenchmarkSHA256_10MB(b *testing.B) { benchSHA256(b, 10<<20) }

func benchSHA256(b *testing.B, size int) {
	content := benchContent(size)
	b.SetBytes(int64(len(content)))
	b.ReportAllocs()
	for b.Loop() {
		sha256.Sum256(content)
	}
}

// TestStreamingMemory checks that signing and verifying 10 MB allocate a
// small fraction of it: the content is streamed, never buffered.
func TestStreamingMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 10 MB of test content")
	}
	f := testFixture(t)
	content := benchContent(10 << 20)
	allocated := func(fn func()) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		fn()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	n := allocated(func() {
		w, err := f.sha256.NewWriter(io.Discard, outerHeader(f.provider), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, bytes.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	})
	if n > 1<<20 {
		t.Errorf("signing 10 MB allocated %d bytes", n)
	}
	sig, err := f.sha256.SignDetached(bytes.NewReader(content), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	n = allocated(func() {
		// A reader that is not a WriterTo, as a network or file source.
		v, err := smime.Verify(io.LimitReader(bytes.NewReader(content), int64(len(content))), sig, &smime.VerifyOptions{Roots: f.pki.Pool()})
		if err != nil || !chainOK(v) {
			t.Fatal(err, v.Problems)
		}
	})
	if n > 1<<20 {
		t.Errorf("verifying 10 MB allocated %d bytes", n)
	}
	t.Logf("verify of %d bytes allocated %d bytes", len(content), n)
}
