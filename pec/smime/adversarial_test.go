package smime_test

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/pectest"
	"github.com/pecsdk/pec/pec/smime"
)

// These tests attack the trust decisions of Verify as a forger would, with
// the public API only: a signature must never read as a PEC provider's
// unless an Authority says the signer is one.

// TestAttackSiblingCertificate signs with an ordinary e-mail certificate
// issued by a sibling CA under the same root as the providers, with From
// set to that certificate's own address: it chains, and that is all.
func TestAttackSiblingCertificate(t *testing.T) {
	f := testFixture(t)
	sibling, err := f.pki.NewIntermediate("Citizen S/MIME CA")
	if err != nil {
		t.Fatal(err)
	}
	forger, _, err := sibling.NewProvider("Mario Rossi", "mario.rossi@example.com", &pectest.ProviderOptions{Key: f.key})
	if err != nil {
		t.Fatal(err)
	}
	content, sig := signed(t, forger, time.Time{})
	for _, tc := range []struct {
		name    string
		opts    smime.VerifyOptions
		problem smime.ProblemCode
	}{
		{"anchors-only", smime.VerifyOptions{Roots: f.pki.Pool(), From: "mario.rossi@example.com"}, smime.ProblemNotProvider},
		{"anchors-and-index", smime.VerifyOptions{Roots: f.pki.Pool(), From: "mario.rossi@example.com", Authority: pin(f.sha256.Certificate())}, smime.ProblemUnlisted},
		{"index-only", smime.VerifyOptions{From: "mario.rossi@example.com", Authority: pin(f.sha256.Certificate())}, smime.ProblemUnlisted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := verify(t, content, sig, &tc.opts)
			if !v.Intact || !*v.FromMatches {
				t.Fatalf("the forgery itself should be intact and match its own From: %v", v.Problems)
			}
			if v.Trusted == nil || *v.Trusted || v.OK() || !v.HasProblem(tc.problem) {
				t.Fatalf("trusted %v OK %v problems %v, want %s", v.Trusted, v.OK(), v.Problems, tc.problem)
			}
			if v.Chained != nil && !*v.Chained {
				t.Fatalf("the sibling chain should be reported as valid: %v", v.Problems)
			}
		})
	}
}

// TestAttackProviderProfile lists a certificate that lacks the provider
// profile of PEC.md §12.3: being listed does not make it a provider
// certificate.
func TestAttackProviderProfile(t *testing.T) {
	f := testFixture(t)
	for _, tc := range []struct {
		name  string
		tmpl  func(*x509.Certificate)
		valid bool
	}{
		{"profile", func(*x509.Certificate) {}, true},
		{"no-key-usage", func(c *x509.Certificate) { c.KeyUsage = 0 }, false},
		{"no-key-usage-no-eku", func(c *x509.Certificate) { c.KeyUsage, c.ExtKeyUsage = 0, nil }, false},
		{"key-encipherment-only", func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageKeyEncipherment }, false},
		{"server-auth", func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} }, false},
		{"ca", func(c *x509.Certificate) {
			c.BasicConstraintsValid, c.IsCA, c.KeyUsage = true, true, x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign
		}, false},
		{"old-no-eku", func(c *x509.Certificate) { c.ExtKeyUsage = nil }, true},
		{"old-ca-false", func(c *x509.Certificate) { c.BasicConstraintsValid = true }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := &x509.Certificate{
				SerialNumber:   big.NewInt(time.Now().UnixNano()),
				Subject:        pkix.Name{Country: []string{"IT"}, Organization: []string{"Test PEC"}, CommonName: "Posta Certificata Test PEC"},
				NotBefore:      time.Now().Add(-time.Hour),
				NotAfter:       time.Now().Add(time.Hour),
				KeyUsage:       x509.KeyUsageDigitalSignature,
				ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
				EmailAddresses: []string{"posta-certificata@pec.example.it"},
				AuthorityKeyId: f.pki.CA.SubjectKeyId,
			}
			tc.tmpl(tmpl)
			der, err := x509.CreateCertificate(rand.Reader, tmpl, f.pki.CA, f.key.Public(), f.pki.CAKey)
			if err != nil {
				t.Fatal(err)
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			s, err := smime.NewSigner(f.key, []*x509.Certificate{cert}, nil)
			if err != nil {
				t.Fatal(err)
			}
			content, sig := signed(t, s, time.Time{})
			v := verify(t, content, sig, &smime.VerifyOptions{From: "posta-certificata@pec.example.it", Authority: pin(cert)})
			if v.OK() != tc.valid || v.HasProblem(smime.ProblemProviderProfile) == tc.valid {
				t.Fatalf("OK %v, want %v: %v", v.OK(), tc.valid, v.Problems)
			}
		})
	}
}

// TestAttackFutureSigningTime signs with a certificate that is not valid
// yet and claims a signing time a year ahead: the claim is the signer's
// own and decides nothing.
func TestAttackFutureSigningTime(t *testing.T) {
	f := testFixture(t)
	start := time.Now().AddDate(1, 0, 0)
	s, _, err := f.pki.NewProvider("Test PEC", "posta-certificata@pec.example.it", &pectest.ProviderOptions{
		Key: f.key, NotBefore: start.Add(-24 * time.Hour), NotAfter: start.Add(24 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	content, sig := signed(t, s, start)
	for _, tc := range []struct {
		name string
		opts smime.VerifyOptions
	}{
		{"live", smime.VerifyOptions{}},
		{"as-of-signing-time", smime.VerifyOptions{AsOfSigningTime: true}},
		{"live-with-anchors", smime.VerifyOptions{Roots: f.pki.Pool()}},
		{"as-of-signing-time-with-anchors", smime.VerifyOptions{Roots: f.pki.Pool(), AsOfSigningTime: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.From = "posta-certificata@pec.example.it"
			tc.opts.Authority = pin(s.Certificate())
			v := verify(t, content, sig, &tc.opts)
			if !v.Intact || *v.Trusted || v.OK() || !v.HasProblem(smime.ProblemFutureSigningTime) {
				t.Fatalf("intact %v trusted %v problems %v", v.Intact, *v.Trusted, v.Problems)
			}
			if v.AsOfSigningTime || v.At.After(time.Now().Add(time.Minute)) {
				t.Fatalf("judged at %v (as of signing time %v): the future signing time was used", v.At, v.AsOfSigningTime)
			}
		})
	}
	// Within the documented skew a signing time slightly ahead is fine.
	near, sigNear := signed(t, f.sha256, time.Now().Add(smime.MaxClockSkew/2))
	if v := verify(t, near, sigNear, &smime.VerifyOptions{From: "posta-certificata@pec.example.it", Authority: pin(f.sha256.Certificate())}); !v.OK() {
		t.Fatalf("signing time within the skew: %v", v.Problems)
	}
}

// TestAttackLiveVerification: a certificate valid at its signing time but
// expired now is not trusted by a live verification (the default), and is
// by an archival one, which says so.
func TestAttackLiveVerification(t *testing.T) {
	f := testFixture(t)
	nb := time.Now().Add(-50 * time.Minute)
	s, _, err := f.pki.NewProvider("Old PEC", "posta-certificata@old.example.it", &pectest.ProviderOptions{
		Key: f.key, NotBefore: nb, NotAfter: nb.Add(30 * time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	content, sig := signed(t, s, nb.Add(10*time.Minute))
	opts := smime.VerifyOptions{From: "posta-certificata@old.example.it", Authority: pin(s.Certificate()), Roots: f.pki.Pool()}
	if v := verify(t, content, sig, &opts); v.OK() || v.AsOfSigningTime || !v.HasProblem(smime.ProblemExpired) {
		t.Fatalf("live: OK %v problems %v", v.OK(), v.Problems)
	}
	opts.AsOfSigningTime = true
	v := verify(t, content, sig, &opts)
	if !v.OK() || !v.AsOfSigningTime || !v.At.Equal(v.SigningTime) {
		t.Fatalf("archival: OK %v at %v problems %v", v.OK(), v.At, v.Problems)
	}
}

// TestAttackNoFrom: a verification that was not told the From address is
// never OK, however trusted the signer.
func TestAttackNoFrom(t *testing.T) {
	f := testFixture(t)
	content, sig := signed(t, f.sha256, time.Time{})
	v := verify(t, content, sig, &smime.VerifyOptions{Authority: pin(f.sha256.Certificate())})
	if !*v.Trusted || v.FromMatches != nil || v.OK() {
		t.Fatalf("trusted %v from %v OK %v", *v.Trusted, v.FromMatches, v.OK())
	}
	if v := verify(t, bytes.Clone(content), sig, &smime.VerifyOptions{From: "Posta <posta-certificata@pec.example.it", Authority: pin(f.sha256.Certificate())}); v.OK() {
		t.Fatalf("an unparseable From matched: %v", v.Problems)
	}
}

// TestAttackMixedLineEndings removes the CR of one line of signed content:
// a stored copy converted to LF is converted whole, so a mix of CRLF and
// bare LF is content altered after signing, not a canonicalisation.
func TestAttackMixedLineEndings(t *testing.T) {
	f := testFixture(t)
	content, sig := signed(t, f.sha256, time.Time{})
	i := bytes.Index(content, []byte("\r\n"))
	mixed := append(append([]byte{}, content[:i]...), content[i+1:]...)
	if v := verify(t, mixed, sig, nil); v.Intact || !v.HasProblem(smime.ProblemMixedLineEndings) {
		t.Fatalf("one CR removed: intact %v problems %v", v.Intact, v.Problems)
	}
	// All LF, as a stored copy: canonicalised and intact.
	if v := verify(t, bytes.ReplaceAll(content, []byte("\r\n"), []byte("\n")), sig, nil); !v.Intact || !v.HasProblem(smime.ProblemCanonicalized) {
		t.Fatalf("all LF: intact %v problems %v", v.Intact, v.Problems)
	}
}
