package smime

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	mrand "math/rand/v2"
	"net/mail"
	"testing"
	"time"
)

func selfSigned(t *testing.T, serial int64, email string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: email},
		EmailAddresses: []string{email}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestParseCertificatesCache checks that the cache gives back what
// x509.ParseCertificates gives, that only the very same bytes share a
// parsed certificate, and that nothing returned aliases the input.
func TestParseCertificatesCache(t *testing.T) {
	a, b := selfSigned(t, 1, "a@pec.example.it"), selfSigned(t, 2, "b@pec.example.it")
	in := append(append([]byte(nil), a...), b...)
	first, err := parseCertificates(in)
	if err != nil || len(first) != 2 {
		t.Fatalf("parseCertificates: %d certificates, %v", len(first), err)
	}
	want, _ := x509.ParseCertificates(in)
	for i := range want {
		if !first[i].Equal(want[i]) || first[i].EmailAddresses[0] != want[i].EmailAddresses[0] {
			t.Fatalf("certificate %d differs from x509.ParseCertificates", i)
		}
	}
	again, _ := parseCertificates(bytes.Clone(in))
	if again[0] != first[0] || again[1] != first[1] {
		t.Error("the same DER was parsed again")
	}
	// The input is the caller's: changing it changes nothing returned.
	for i := range in {
		in[i] ^= 0xff
	}
	if !bytes.Equal(first[0].Raw, a) || !bytes.Equal(first[1].Raw, b) {
		t.Fatal("a parsed certificate aliases the input")
	}
	// One byte changed in the signature value: another certificate, not
	// the cached one.
	c := bytes.Clone(a)
	c[len(c)-1] ^= 1
	got, err := parseCertificates(c)
	if err == nil && (got[0] == first[0] || !bytes.Equal(got[0].Raw, c)) {
		t.Fatal("a different DER shared a cached certificate")
	}
	// Garbage gives x509's own error.
	bad := []byte{0x30, 0x03, 0x02, 0x01, 0x01}
	_, err = parseCertificates(bad)
	_, werr := x509.ParseCertificates(bad)
	if err == nil || werr == nil || err.Error() != werr.Error() {
		t.Fatalf("malformed: %v, x509 says %v", err, werr)
	}
	if _, err := parseCertificates([]byte{0x31, 0x00}); err == nil {
		t.Fatal("a SET taken for a certificate")
	}
}

// TestParseCertificatesBound checks that the cache stays bounded.
func TestParseCertificatesBound(t *testing.T) {
	for i := range maxCachedCertificates + 10 {
		parsedCerts.put(&x509.Certificate{Raw: []byte{0xff, byte(i), byte(i >> 8)}})
	}
	parsedCerts.mu.Lock()
	n := len(parsedCerts.m)
	parsedCerts.mu.Unlock()
	if n > maxCachedCertificates {
		t.Fatalf("%d certificates cached, bound %d", n, maxCachedCertificates)
	}
}

// TestPlainAddress checks the shortcut of bareAddress: for an address of
// plain characters, ParseAddress gives it back or fails.
func TestPlainAddress(t *testing.T) {
	chars := "ab.@-_+=/?'{}~!#$%&*^`|Z9"
	rng := mrand.New(mrand.NewPCG(3, 4))
	for range 20000 {
		b := make([]byte, 1+rng.IntN(12))
		for i := range b {
			b[i] = chars[rng.IntN(len(chars))]
		}
		s := string(b)
		if !plainAddress(s) {
			t.Fatalf("%q not plain", s)
		}
		want := s
		if a, err := mail.ParseAddress(s); err == nil {
			want = a.Address
		}
		if want != s {
			t.Fatalf("ParseAddress(%q) = %q", s, want)
		}
	}
	for _, s := range []string{"", "a b@c", "<a@b>", "\"a\"@b", "a@b (c)", "a@[1.2.3.4]"} {
		if plainAddress(s) {
			t.Errorf("%q taken for plain", s)
		}
	}
}
