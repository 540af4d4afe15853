package smime_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/pectest"
	"github.com/pecsdk/pec/pec/smime"
)

// signed returns the canonical content of innerPart and its signature by s.
func signed(t testing.TB, s *smime.Signer, at time.Time) ([]byte, []byte) {
	t.Helper()
	content, sig, err := splitSigned(signMessage(t, s, innerPart, 0, at))
	if err != nil {
		t.Fatal(err)
	}
	return content, sig
}

func verify(t testing.TB, content, sig []byte, opts *smime.VerifyOptions) *smime.Verdict {
	t.Helper()
	v, err := smime.Verify(bytes.NewReader(content), sig, opts)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	checkConsistent(t, v, opts)
	return v
}

// checkConsistent asserts the invariants of a verdict.
func checkConsistent(t testing.TB, v *smime.Verdict, opts *smime.VerifyOptions) {
	t.Helper()
	integrity := v.HasProblem(smime.ProblemMalformed) || v.HasProblem(smime.ProblemNoSigner) ||
		v.HasProblem(smime.ProblemDigestMismatch) || v.HasProblem(smime.ProblemBadSignature) ||
		v.HasProblem(smime.ProblemUnsupportedAlgorithm) || v.HasProblem(smime.ProblemMixedLineEndings)
	if v.Intact == integrity {
		t.Errorf("intact %v with problems %v", v.Intact, v.Problems)
	}
	if v.Intact && (!v.Present || v.Signer == nil) {
		t.Errorf("intact without signature or signer")
	}
	roots := opts != nil && opts.Roots != nil
	authority := opts != nil && opts.Authority != nil
	if roots == (v.Chained == nil) {
		t.Errorf("Chained %v with roots %v", v.Chained, roots)
	}
	if (roots || authority) == (v.Trusted == nil) {
		t.Errorf("Trusted %v with roots %v, authority %v", v.Trusted, roots, authority)
	}
	if v.Chained != nil && *v.Chained != (len(v.Chains) > 0) {
		t.Errorf("chained %v with %d chains", *v.Chained, len(v.Chains))
	}
	if v.Trusted != nil && *v.Trusted && (!authority || !v.Intact || (v.Chained != nil && !*v.Chained)) {
		t.Errorf("trusted with authority %v, intact %v, chained %v", authority, v.Intact, v.Chained)
	}
	if (opts == nil || opts.From == "") != (v.FromMatches == nil) {
		t.Errorf("FromMatches %v", v.FromMatches)
	}
	if v.FromMatches != nil && *v.FromMatches == v.HasProblem(smime.ProblemFromMismatch) {
		t.Errorf("FromMatches %v with problems %v", *v.FromMatches, v.Problems)
	}
	want := v.Intact && v.Trusted != nil && *v.Trusted && v.FromMatches != nil && *v.FromMatches
	if v.OK() != want {
		t.Errorf("OK %v", v.OK())
	}
	for _, p := range v.Problems {
		if p.Code == "" || !strings.HasPrefix(p.Error(), "smime: "+string(p.Code)) {
			t.Errorf("problem %#v", p)
		}
	}
}

func TestVerifyTrust(t *testing.T) {
	f := testFixture(t)
	now := time.Now()
	content, sig := signed(t, f.sha256, now)
	notAfter := f.sha256.Certificate().NotAfter
	for _, tc := range []struct {
		name    string
		opts    smime.VerifyOptions
		trusted bool
		problem smime.ProblemCode
	}{
		{"chained", smime.VerifyOptions{Roots: f.pki.Pool()}, true, ""},
		{"wrong-roots", smime.VerifyOptions{Roots: f.other.Pool()}, false, smime.ProblemUntrustedChain},
		{"after-not-after", smime.VerifyOptions{Roots: f.pki.Pool(), CurrentTime: notAfter.Add(time.Hour)}, false, smime.ProblemExpired},
		{"before-not-before", smime.VerifyOptions{Roots: f.pki.Pool(), CurrentTime: now.Add(-48 * time.Hour)}, false, smime.ProblemExpired},
		{"expired-and-wrong-roots", smime.VerifyOptions{Roots: f.other.Pool(), CurrentTime: notAfter.Add(time.Hour)}, false, smime.ProblemUntrustedChain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := verify(t, content, sig, &tc.opts)
			if !v.Intact || *v.Chained != tc.trusted || (tc.problem != "" && !v.HasProblem(tc.problem)) {
				t.Fatalf("intact %v chained %v problems %v", v.Intact, *v.Chained, v.Problems)
			}
			// A chain alone never makes a provider.
			if *v.Trusted || v.OK() || !v.HasProblem(smime.ProblemNotProvider) {
				t.Fatalf("trusted %v from anchors alone: %v", *v.Trusted, v.Problems)
			}
			tc.opts.Authority = pin(f.sha256.Certificate())
			if v := verify(t, content, sig, &tc.opts); *v.Trusted != tc.trusted {
				t.Fatalf("pinned: trusted %v problems %v", *v.Trusted, v.Problems)
			}
		})
	}
	t.Run("no-email-protection", func(t *testing.T) {
		content, sig := signed(t, f.noEmail, now)
		v := verify(t, content, sig, &smime.VerifyOptions{Roots: f.pki.Pool()})
		if !v.Intact || *v.Chained || !v.HasProblem(smime.ProblemKeyUsage) || v.HasProblem(smime.ProblemUntrustedChain) {
			t.Fatalf("intact %v chained %v problems %v", v.Intact, *v.Chained, v.Problems)
		}
	})
}

// TestVerifyExpiredProvider signs with a certificate that expired long ago,
// as every certificate of the corpus has.
func TestVerifyExpiredProvider(t *testing.T) {
	f := testFixture(t)
	// The test CA is valid from an hour ago: the provider certificate was
	// valid for half an hour of that.
	nb := time.Now().Add(-50 * time.Minute)
	s, _, err := f.pki.NewProvider("Old PEC", "posta-certificata@old.example.it", &pectest.ProviderOptions{
		Key: f.key, NotBefore: nb, NotAfter: nb.Add(30 * time.Minute),
		Signer: &smime.SignerOptions{Hash: crypto.SHA1, LegacyProtocol: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	inside := nb.Add(10 * time.Minute).Truncate(time.Second)
	content, sig := signed(t, s, inside)
	// As of its signing time the chain is valid.
	v := verify(t, content, sig, &smime.VerifyOptions{Roots: f.pki.Pool(), AsOfSigningTime: true})
	if !chainOK(v) || !v.Legacy || !v.AsOfSigningTime {
		t.Fatalf("at signing time: %v", v.Problems)
	}
	// As of now it is intact but expired.
	v = verify(t, content, sig, &smime.VerifyOptions{Roots: f.pki.Pool()})
	if !v.Intact || *v.Chained || !v.HasProblem(smime.ProblemExpired) || v.HasProblem(smime.ProblemUntrustedChain) {
		t.Fatalf("now: intact %v problems %v", v.Intact, v.Problems)
	}
	// Signed after expiry: still intact (the bytes are what was signed),
	// not trusted.
	content, sig = signed(t, s, time.Now())
	v = verify(t, content, sig, nil)
	if !v.Intact {
		t.Fatalf("signed after expiry: %v", v.Problems)
	}
	v = verify(t, content, sig, &smime.VerifyOptions{Roots: f.pki.Pool(), AsOfSigningTime: true})
	if !v.Intact || *v.Chained || !v.HasProblem(smime.ProblemExpired) {
		t.Fatalf("signed after expiry, with roots: %v", v.Problems)
	}
	// A tampered signature value is caught on that path too.
	bad := append([]byte(nil), sig...)
	bad[len(bad)-10] ^= 1
	if v := verify(t, content, bad, nil); v.Intact || !v.HasProblem(smime.ProblemBadSignature) {
		t.Fatalf("tampered, signed after expiry: %v", v.Problems)
	}
}

func TestVerifyIntermediate(t *testing.T) {
	f := testFixture(t)
	sub, err := f.pki.NewIntermediate("Test PEC Intermediate CA")
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := sub.NewProvider("Sub PEC", "posta-certificata@sub.example.it", &pectest.ProviderOptions{Key: f.key})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Chain()) != 2 || s.Chain()[1] != sub.CA {
		t.Fatalf("chain %d", len(s.Chain()))
	}
	content, sig := signed(t, s, time.Time{})
	v := verify(t, content, sig, &smime.VerifyOptions{Roots: sub.Pool(), From: "Posta <posta-certificata@SUB.example.it>"})
	if !chainOK(v) || len(v.Chains[0]) != 3 {
		t.Fatalf("%v", v.Problems)
	}
	// A signature carrying the signer only needs the intermediate given.
	leafOnly, err := smime.NewSigner(f.key, s.Chain()[:1], nil)
	if err != nil {
		t.Fatal(err)
	}
	content, sig = signed(t, leafOnly, time.Time{})
	if v := verify(t, content, sig, &smime.VerifyOptions{Roots: sub.Pool()}); chainOK(v) || !v.HasProblem(smime.ProblemUntrustedChain) {
		t.Fatalf("without intermediate: %v", v.Problems)
	}
	inter := x509.NewCertPool()
	inter.AddCert(sub.CA)
	if v := verify(t, content, sig, &smime.VerifyOptions{Roots: sub.Pool(), Intermediates: inter}); !chainOK(v) {
		t.Fatalf("with intermediate: %v", v.Problems)
	}
}

func TestVerifyFrom(t *testing.T) {
	f := testFixture(t)
	content, sig := signed(t, f.sha256, time.Time{})
	for from, want := range map[string]bool{
		"posta-certificata@pec.example.it":                          true,
		"posta-certificata@PEC.Example.IT":                          true,
		`"Per conto di: a@b.it" <posta-certificata@pec.example.it>`: true,
		" posta-certificata@pec.example.it ":                        true,
		"Posta-Certificata@pec.example.it":                          false, // local parts are case-sensitive
		"posta-certificata@other.example.it":                        false,
		"not an address":                                            false,
	} {
		v := verify(t, content, sig, &smime.VerifyOptions{From: from, Authority: pin(f.sha256.Certificate())})
		if *v.FromMatches != want || v.OK() != want {
			t.Errorf("From %q: matches %v, problems %v", from, *v.FromMatches, v.Problems)
		}
	}
}

func TestVerifyIntegrity(t *testing.T) {
	f := testFixture(t)
	content, sig := signed(t, f.sha256, time.Time{})
	t.Run("canonicalised", func(t *testing.T) {
		lf := bytes.ReplaceAll(content, []byte("\r\n"), []byte("\n"))
		v := verify(t, lf, sig, nil)
		if !v.Intact || !v.HasProblem(smime.ProblemCanonicalized) {
			t.Fatalf("%v", v.Problems)
		}
		if v := verify(t, content, sig, nil); v.HasProblem(smime.ProblemCanonicalized) || len(v.Problems) != 0 {
			t.Fatalf("CRLF content: %v", v.Problems)
		}
	})
	t.Run("flipped-content", func(t *testing.T) {
		for _, i := range []int{0, len(content) / 2, len(content) - 1} {
			bad := append([]byte(nil), content...)
			bad[i] ^= 0x20
			v := verify(t, bad, sig, &smime.VerifyOptions{Roots: f.pki.Pool()})
			if v.Intact || !v.HasProblem(smime.ProblemDigestMismatch) || v.Signer == nil {
				t.Fatalf("byte %d: %v", i, v.Problems)
			}
		}
		if v := verify(t, append(content, ' '), sig, nil); !v.HasProblem(smime.ProblemDigestMismatch) {
			t.Fatalf("appended byte: %v", v.Problems)
		}
	})
	t.Run("flipped-signature-value", func(t *testing.T) {
		bad := append([]byte(nil), sig...)
		bad[len(bad)-1] ^= 1
		if v := verify(t, content, bad, nil); v.Intact || !v.HasProblem(smime.ProblemBadSignature) {
			t.Fatalf("%v", v.Problems)
		}
	})
	t.Run("trailing-bytes", func(t *testing.T) {
		v := verify(t, content, append(append([]byte(nil), sig...), 0, 0), nil)
		if !v.Intact || !v.BER {
			t.Fatalf("ber %v problems %v", v.BER, v.Problems)
		}
	})
	t.Run("ber", func(t *testing.T) {
		v := verify(t, content, indefinite(t, sig), nil)
		if !v.Intact || !v.BER {
			t.Fatalf("ber %v problems %v", v.BER, v.Problems)
		}
	})
	cert := f.sha256.Certificate().Raw
	oid, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1})
	for name, bad := range map[string][]byte{
		"empty":        nil,
		"garbage":      []byte("MII...PKw=="),
		"truncated":    sig[:len(sig)/2],
		"one-byte":     sig[:1],
		"certificate":  cert,
		"octet-string": {0x04, 0x80, 0x04, 0x01, 'x', 0x00, 0x00}, // valid BER
		"data":         append([]byte{0x30, byte(len(oid))}, oid...),
		"deep":         bytes.Repeat([]byte{0x30, 0x80}, 10000),
	} {
		t.Run("malformed/"+name, func(t *testing.T) {
			v := verify(t, content, bad, &smime.VerifyOptions{Roots: f.pki.Pool(), From: f.provider})
			if v.Intact || !v.HasProblem(smime.ProblemMalformed) || v.Present != (len(bad) > 0) {
				t.Fatalf("present %v problems %v", v.Present, v.Problems)
			}
		})
	}
}

// indefinite re-encodes the outer SEQUENCE and [0] of a ContentInfo, and
// the SignedData, with indefinite lengths, as streaming encoders do.
func indefinite(t testing.TB, der []byte) []byte {
	t.Helper()
	var ci asn1.RawValue
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		t.Fatal(err)
	}
	var oid, explicit asn1.RawValue
	rest, err := asn1.Unmarshal(ci.Bytes, &oid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Unmarshal(rest, &explicit); err != nil {
		t.Fatal(err)
	}
	var sd asn1.RawValue
	if _, err := asn1.Unmarshal(explicit.Bytes, &sd); err != nil {
		t.Fatal(err)
	}
	eoc := []byte{0, 0}
	out := []byte{0x30, 0x80}
	out = append(out, oid.FullBytes...)
	out = append(out, 0xa0, 0x80, 0x30, 0x80)
	out = append(out, sd.Bytes...)
	out = append(out, eoc...)
	out = append(out, eoc...)
	return append(out, eoc...)
}

func TestVerifyReadError(t *testing.T) {
	f := testFixture(t)
	_, sig := signed(t, f.sha256, time.Time{})
	boom := errors.New("boom")
	if _, err := smime.Verify(&failingReader{err: boom}, sig, nil); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if _, err := smime.Verify(&failingReader{err: boom}, nil, nil); !errors.Is(err, boom) {
		t.Fatalf("unusable signature: err %v", err)
	}
}

type failingReader struct{ err error }

func (r *failingReader) Read([]byte) (int, error) { return 0, r.err }

// TestOpenSSLSignedVariants covers signatures without signed attributes
// and with two signers, made by OpenSSL.
func TestOpenSSLSignedVariants(t *testing.T) {
	f := testFixture(t)
	openssl := requireOpenSSL(t)
	dir := t.TempDir()
	files := map[string][]byte{}
	for name, c := range map[string]*smime.Signer{"rsa": f.sha256, "ec": f.ecdsa} {
		writePEM(t, filepath.Join(dir, name+".crt"), "CERTIFICATE", c.Certificate().Raw)
	}
	key := map[string]crypto.Signer{"rsa": f.key, "ec": f.ecKey}
	for name, k := range key {
		writePEM(t, filepath.Join(dir, name+".key"), "PRIVATE KEY", pkcs8(t, k))
	}
	content := strings.ReplaceAll(innerPart, "\n", "\r\n")
	in := filepath.Join(dir, "in")
	if err := os.WriteFile(in, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"noattr-rsa": {"-signer", "rsa.crt", "-inkey", "rsa.key", "-noattr"},
		"noattr-ec":  {"-signer", "ec.crt", "-inkey", "ec.key", "-noattr"},
		"two":        {"-signer", "rsa.crt", "-inkey", "rsa.key", "-md", "sha1", "-signer", "ec.crt", "-inkey", "ec.key"},
	} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(openssl, append([]string{"cms", "-sign", "-binary", "-in", "in", "-outform", "DER", "-out", name}, args...)...)
			cmd.Dir = dir
			if o, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v: %s", err, o)
			}
			sig, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			files[name] = sig
			v := verify(t, []byte(content), sig, &smime.VerifyOptions{Roots: f.pki.Pool()})
			if !chainOK(v) {
				t.Fatalf("%v", v.Problems)
			}
			v = verify(t, []byte(content+"x"), sig, nil)
			if v.Intact {
				t.Fatal("intact after change")
			}
		})
	}
}
