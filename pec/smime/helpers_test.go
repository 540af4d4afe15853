package smime_test

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"mime"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"
	"github.com/pecsdk/pec/pec/pectest"
	"github.com/pecsdk/pec/pec/smime"
)

// corpusDir is the shared corpus of real PEC messages.
const corpusDir = "../../../shared/corpus"

// requireCorpus skips the test when the corpus is absent, and fails it
// under CI=true.
func requireCorpus(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(corpusDir, "MANIFEST.tsv")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus missing at %s: %v", corpusDir, err)
		}
		t.Skipf("corpus not found at %s (set up ../shared/corpus to run this test)", corpusDir)
	}
}

// requireOpenSSL returns the path of openssl; it skips the test when there
// is none, and fails it under CI=true.
func requireOpenSSL(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openssl not found")
		}
		t.Skip("openssl not found")
	}
	return p
}

// splitSigned returns the raw first body part of the top-level
// multipart/signed of msg (from after the first boundary line to before the
// line break that precedes the next delimiter, RFC 2046 §5.1.1, RFC 1847
// §2.1) and the base64-decoded body of the second part. With an error, it
// returns what it could find.
func splitSigned(msg []byte) (content, sig []byte, err error) {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(msg)))
	if err != nil {
		return nil, nil, err
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return nil, nil, err
	}
	if mt != "multipart/signed" || params["boundary"] == "" {
		return nil, nil, errors.New("not multipart/signed")
	}
	delim := []byte("--" + params["boundary"])
	// Offsets of the starts of the delimiter lines, and of the line after.
	var starts, nexts []int
	for off := 0; off < len(msg); {
		end := bytes.IndexByte(msg[off:], '\n')
		next := len(msg)
		if end >= 0 {
			next = off + end + 1
		}
		line := bytes.TrimRight(msg[off:next], " \t\r\n")
		if bytes.Equal(line, delim) || bytes.Equal(line, append(delim, '-', '-')) {
			starts = append(starts, off)
			nexts = append(nexts, next)
		}
		off = next
	}
	switch len(starts) {
	case 0, 1:
		return nil, nil, errors.New("no body part")
	case 2:
		return msg[nexts[0]:trimBreak(msg, starts[1])], nil, errors.New("no signature part")
	}
	content = msg[nexts[0]:trimBreak(msg, starts[1])]
	part := msg[nexts[1]:trimBreak(msg, starts[2])]
	i := bytes.Index(part, []byte("\n\n"))
	j := bytes.Index(part, []byte("\n\r\n"))
	switch {
	case j >= 0 && (i < 0 || j < i):
		part = part[j+3:]
	case i >= 0:
		part = part[i+2:]
	default:
		return nil, nil, errors.New("signature part has no body")
	}
	b64 := bytes.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, part)
	sig, err = base64.StdEncoding.DecodeString(string(b64))
	if err != nil {
		return content, b64, err // the undecodable text, for negative tests
	}
	return content, sig, nil
}

// trimBreak returns the offset of the line break (CRLF or LF) ending just
// before off.
func trimBreak(msg []byte, off int) int {
	if off > 0 && msg[off-1] == '\n' {
		off--
		if off > 0 && msg[off-1] == '\r' {
			off--
		}
	}
	return off
}

// fixture is a test PKI with providers, made once per test binary: RSA key
// generation is slow.
type fixture struct {
	pki      *pectest.PKI
	other    *pectest.PKI // an unrelated CA
	key      crypto.Signer
	ecKey    crypto.Signer
	sha256   *smime.Signer // posta-certificata@pec.example.it
	sha1     *smime.Signer // legacy: SHA-1, x-pkcs7-signature
	ecdsa    *smime.Signer
	noEmail  *smime.Signer // without emailProtection
	provider string
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

func testFixture(t testing.TB) *fixture {
	t.Helper()
	fixOnce.Do(func() {
		f := &fixture{provider: "posta-certificata@pec.example.it"}
		if f.pki, fixErr = pectest.NewPKI("Test PEC CA"); fixErr != nil {
			return
		}
		if f.other, fixErr = pectest.NewPKI("Other CA"); fixErr != nil {
			return
		}
		var rk *rsa.PrivateKey
		if rk, fixErr = rsa.GenerateKey(rand.Reader, 2048); fixErr != nil {
			return
		}
		f.key = rk
		var ek *ecdsa.PrivateKey
		if ek, fixErr = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); fixErr != nil {
			return
		}
		f.ecKey = ek
		mk := func(o *pectest.ProviderOptions) *smime.Signer {
			if fixErr != nil {
				return nil
			}
			var s *smime.Signer
			s, _, fixErr = f.pki.NewProvider("Example PEC S.p.A.", f.provider, o)
			return s
		}
		f.sha256 = mk(&pectest.ProviderOptions{Key: rk})
		f.sha1 = mk(&pectest.ProviderOptions{Key: rk, Signer: &smime.SignerOptions{Hash: crypto.SHA1, LegacyProtocol: true}})
		f.ecdsa = mk(&pectest.ProviderOptions{Key: ek})
		f.noEmail = mk(&pectest.ProviderOptions{Key: rk, NoEmailProtection: true})
		fix = f
	})
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func pkcs8(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// pinned is an Authority that lists exactly the given certificates as
// providers, for any domain, and checks their validity: what a caller does
// with index.New and a provider certificate it pinned.
type pinned []*x509.Certificate

func pin(certs ...*x509.Certificate) pinned { return pinned(certs) }

func (p pinned) Authorize(signer *x509.Certificate, _ string, at time.Time) error {
	for _, c := range p {
		if c.Equal(signer) {
			if at.Before(c.NotBefore) || at.After(c.NotAfter) {
				return smime.Problem{Code: smime.ProblemExpired, Detail: "outside the validity of the pinned certificate"}
			}
			return nil
		}
	}
	return smime.Problem{Code: smime.ProblemUnlisted, Detail: "not pinned"}
}

// chainOK reports what a verification against trust anchors alone can
// establish: intact, chained to the anchors, and matching From when given.
func chainOK(v *smime.Verdict) bool {
	return v.Intact && v.Chained != nil && *v.Chained && (v.FromMatches == nil || *v.FromMatches)
}
