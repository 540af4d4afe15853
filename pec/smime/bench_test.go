package smime_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
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
