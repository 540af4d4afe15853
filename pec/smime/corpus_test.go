package smime_test

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pecsdk/pec/pec/smime"
)

// manifest reads MANIFEST.tsv: file name → last column (OK, FAIL …,
// UNPARSEABLE …).
func manifest(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for first := true; sc.Scan(); first = false {
		cols := strings.Split(sc.Text(), "\t")
		if first || len(cols) < 2 {
			continue
		}
		m[cols[0]] = cols[len(cols)-1]
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCorpus verifies the signatures of the real messages of the shared
// corpus and compares each outcome with OpenSSL's.
func TestCorpus(t *testing.T) {
	requireCorpus(t)
	openssl, _ := exec.LookPath("openssl")
	if openssl == "" && os.Getenv("CI") == "true" {
		t.Fatal("openssl not found")
	}
	for name, expect := range manifest(t) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(corpusDir, name)
			msg, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			content, sig, err := splitSigned(msg)
			if err != nil {
				// The placeholder signatures are not even valid base64.
				if !strings.Contains(name, "_unknown_") {
					t.Fatalf("split: %v", err)
				}
				t.Logf("split: %v (placeholder signature)", err)
			}
			v, err := smime.Verify(bytes.NewReader(content), sig, nil)
			if err != nil {
				t.Fatalf("Verify error: %v", err)
			}
			t.Logf("%s: intact=%v alg=%s signer=%s time=%s ber=%v problems=%v", expect, v.Intact, v.Algorithm, v.SignerEmail, v.SigningTime, v.BER, v.Problems)
			switch {
			case expect == "OK":
				if !v.Intact || v.OK() || v.Summary() != "intact, trust not checked" {
					t.Errorf("intact %v OK %v (%s): %v", v.Intact, v.OK(), v.Summary(), v.Problems)
				}
				if v.Signer == nil || v.SignerEmail == "" || v.SigningTime.IsZero() || len(v.Certificates) < 2 {
					t.Errorf("signer %v, email %q, time %v, %d certificates", v.Signer != nil, v.SignerEmail, v.SigningTime, len(v.Certificates))
				}
				if v.Hash != crypto.SHA1 || !v.Legacy || v.Algorithm != "sha1-rsa" {
					t.Errorf("hash %v legacy %v algorithm %q, corpus is SHA-1/RSA", v.Hash, v.Legacy, v.Algorithm)
				}
				checkCorpusTrust(t, content, sig, v)
				if bytes.Contains(content, []byte("\r\n")) == v.HasProblem(smime.ProblemCanonicalized) {
					t.Errorf("canonicalisation note %v for a file with CRLF=%v", v.HasProblem(smime.ProblemCanonicalized), bytes.Contains(content, []byte("\r\n")))
				}
			case strings.HasPrefix(expect, "FAIL"):
				if v.Intact || !v.HasProblem(smime.ProblemDigestMismatch) {
					t.Errorf("intact=%v problems=%v, want digest-mismatch", v.Intact, v.Problems)
				}
				if v.Signer == nil {
					t.Error("signer not reported for a broken digest")
				}
			default: // placeholder p7s
				if v.Intact || !v.HasProblem(smime.ProblemMalformed) {
					t.Errorf("intact=%v problems=%v, want malformed-signature", v.Intact, v.Problems)
				}
			}
			if openssl == "" || !strings.HasPrefix(expect, "OK") && !strings.HasPrefix(expect, "FAIL") {
				return
			}
			out, err := exec.Command(openssl, "smime", "-verify", "-noverify", "-in", path, "-out", os.DevNull).CombinedOutput()
			if (err == nil) != v.Intact {
				t.Errorf("openssl ok=%v, ours intact=%v: %s", err == nil, v.Intact, out)
			}
		})
	}
}

// checkCorpusTrust anchors the chain at the issuing CA carried in the
// signature (AgID CA1, DigitPA CA1): today every certificate is expired;
// as of the signing time a chain signed with SHA-256 is chained, and with
// the signer pinned as a provider it is trusted. The chain alone never
// makes it trusted.
func checkCorpusTrust(t *testing.T, content, sig []byte, v *smime.Verdict) {
	t.Helper()
	roots := x509.NewCertPool()
	for _, c := range v.Certificates {
		if c != v.Signer {
			roots.AddCert(c)
		}
	}
	now := verify(t, content, sig, &smime.VerifyOptions{Roots: roots, From: v.SignerEmail})
	if !now.Intact || *now.Chained || *now.Trusted || !now.HasProblem(smime.ProblemExpired) || !*now.FromMatches || now.OK() {
		t.Errorf("as of now: intact %v chained %v trusted %v problems %v", now.Intact, *now.Chained, *now.Trusted, now.Problems)
	}
	then := verify(t, content, sig, &smime.VerifyOptions{Roots: roots, AsOfSigningTime: true, From: v.SignerEmail})
	t.Logf("as of signing: chained %v problems %v", *then.Chained, then.Problems)
	if !then.AsOfSigningTime || !then.At.Equal(v.SigningTime) {
		t.Errorf("judged at %v (as of signing %v), signed at %v", then.At, then.AsOfSigningTime, v.SigningTime)
	}
	sha256Chain := v.Signer.SignatureAlgorithm != x509.SHA1WithRSA
	if sha256Chain && (!*then.Chained || *then.Trusted || !then.HasProblem(smime.ProblemNotProvider)) {
		t.Errorf("as of signing time: chained %v trusted %v: %v", *then.Chained, *then.Trusted, then.Problems)
	}
	pinned := verify(t, content, sig, &smime.VerifyOptions{Roots: roots, AsOfSigningTime: true, From: v.SignerEmail, Authority: pin(v.Signer)})
	if sha256Chain != pinned.OK() {
		t.Errorf("pinned provider as of signing time: OK %v for a SHA-256 chain %v: %v", pinned.OK(), sha256Chain, pinned.Problems)
	}
	if live := verify(t, content, sig, &smime.VerifyOptions{From: v.SignerEmail, Authority: pin(v.Signer)}); live.OK() {
		t.Errorf("an expired provider certificate is trusted live: %v", live.Problems)
	}
}
