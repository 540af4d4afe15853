package smime_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"
	"github.com/pecsdk/pec/pec/smime"
)

func TestNewSignerErrors(t *testing.T) {
	f := testFixture(t)
	cert := f.sha256.Certificate()
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	edCert := &x509.Certificate{PublicKey: edKey.Public()}
	for name, tc := range map[string]struct {
		key   crypto.Signer
		chain []*x509.Certificate
		opts  *smime.SignerOptions
		err   error
	}{
		"no-chain":     {f.key, nil, nil, smime.ErrNoCertificate},
		"nil-cert":     {f.key, []*x509.Certificate{nil}, nil, smime.ErrNoCertificate},
		"nil-issuer":   {f.key, []*x509.Certificate{cert, nil}, nil, smime.ErrNoCertificate},
		"nil-key":      {nil, []*x509.Certificate{cert}, nil, smime.ErrKeyMismatch},
		"other-key":    {other, []*x509.Certificate{cert}, nil, smime.ErrKeyMismatch},
		"md5":          {f.key, []*x509.Certificate{cert}, &smime.SignerOptions{Hash: crypto.MD5}, smime.ErrUnsupportedHash},
		"sha3":         {f.key, []*x509.Certificate{cert}, &smime.SignerOptions{Hash: crypto.SHA3_256}, smime.ErrUnsupportedHash},
		"ed25519-cert": {edKey, []*x509.Certificate{edCert}, nil, smime.ErrUnsupportedKey},
	} {
		if _, err := smime.NewSigner(tc.key, tc.chain, tc.opts); !errors.Is(err, tc.err) {
			t.Errorf("%s: err %v, want %v", name, err, tc.err)
		}
	}
	s, err := smime.NewSigner(f.key, []*x509.Certificate{cert}, &smime.SignerOptions{Hash: crypto.SHA512})
	if err != nil || s.Hash() != crypto.SHA512 || s.Address() != f.provider || s.Certificate() != cert {
		t.Fatalf("%v %v", s, err)
	}
	s.Chain()[0] = nil
	if s.Certificate() != cert {
		t.Fatal("Chain returned the signer's own slice")
	}
}

type failingWriter struct {
	n   int // bytes accepted before failing
	err error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		n := w.n
		w.n = 0
		return n, w.err
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriterErrors(t *testing.T) {
	f := testFixture(t)
	boom := errors.New("boom")
	var h textproto.Header
	if _, err := f.sha256.NewWriter(&failingWriter{err: boom}, h, time.Time{}); !errors.Is(err, boom) {
		t.Fatalf("header write: %v", err)
	}
	// The header and preamble fit; the content does not.
	w, err := f.sha256.NewWriter(&failingWriter{n: 300, err: boom}, h, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(bytes.Repeat([]byte("x\n"), 1000)); !errors.Is(err, boom) {
		t.Fatalf("content write: %v", err)
	}
	if err := w.Close(); !errors.Is(err, boom) {
		t.Fatalf("Close after a failed write: %v", err)
	}
	// The content fits; the signature part does not.
	w, err = f.sha256.NewWriter(&failingWriter{n: 1000, err: boom}, h, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("Content-Type: text/plain\r\n\r\nhi")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); !errors.Is(err, boom) {
		t.Fatalf("Close: %v", err)
	}
	// Close twice; write after Close.
	var buf bytes.Buffer
	w, _ = f.sha256.NewWriter(&buf, h, time.Time{})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, smime.ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
}

// TestWriterHeader checks the outer header: the caller's fields in order,
// MIME fields replaced, the caller's header untouched, CRLF throughout.
func TestWriterHeader(t *testing.T) {
	f := testFixture(t)
	var h textproto.Header
	h.Add("Content-Transfer-Encoding", "base64")
	h.Add("Mime-Version", "1.0")
	h.Add("Content-Type", "text/plain")
	h.Add("Subject", "POSTA CERTIFICATA: prova")
	h.Add("X-Trasporto", "posta-certificata")
	var buf bytes.Buffer
	w, err := f.sha1.NewWriter(&buf, h, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if h.Get("Content-Type") != "text/plain" || h.Len() != 5 {
		t.Fatal("caller's header modified")
	}
	out := buf.String()
	head, _, _ := strings.Cut(out, "\r\n\r\n")
	lines := strings.Split(strings.ReplaceAll(head, "\r\n ", " "), "\r\n")
	if len(lines) != 4 || lines[0] != "X-Trasporto: posta-certificata" || lines[1] != "Subject: POSTA CERTIFICATA: prova" ||
		lines[2] != "Mime-Version: 1.0" || !strings.HasPrefix(lines[3], `Content-Type: multipart/signed; protocol="application/x-pkcs7-signature"; micalg=sha1; boundary="----=_PEC_`) {
		t.Fatalf("header:\n%s", strings.Join(lines, "\n"))
	}
	if !strings.Contains(out, "\r\n\r\nThis is an S/MIME signed message\r\n\r\n--") || !strings.HasSuffix(out, "--\r\n") {
		t.Fatalf("layout:\n%s", out)
	}
	for _, l := range strings.Split(out, "\r\n") {
		if len(l) > 76 && !strings.HasPrefix(l, "Content-Type") {
			t.Fatalf("line of %d: %q", len(l), l)
		}
	}
}

func TestSignDetached(t *testing.T) {
	f := testFixture(t)
	content := []byte("Content-Type: text/plain\r\n\r\nciao\r\n")
	sig, err := f.sha256.SignDetached(bytes.NewReader(content), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if v := verify(t, content, sig, &smime.VerifyOptions{Roots: f.pki.Pool()}); !chainOK(v) || v.BER {
		t.Fatalf("%v", v.Problems)
	}
}

func TestSignAttached(t *testing.T) {
	f := testFixture(t)
	ldif := []byte("dn: o=postacert\nobjectclass: top\n")
	for _, s := range []*smime.Signer{f.sha256, f.sha1, f.ecdsa} {
		p7m, err := s.SignAttached(ldif, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		got, v := smime.VerifyAttached(p7m, &smime.VerifyOptions{Roots: f.pki.Pool()})
		if !chainOK(v) || !bytes.Equal(got, ldif) {
			t.Fatalf("%q %v", got, v.Problems)
		}
		detached, _ := s.SignDetached(bytes.NewReader(ldif), time.Time{})
		if got, v := smime.VerifyAttached(detached, nil); got != nil || v.Intact || !v.HasProblem(smime.ProblemMalformed) {
			t.Fatalf("detached as attached: %v", v.Problems)
		}
		if openssl, err := exec.LookPath("openssl"); err == nil {
			dir := t.TempDir()
			in, ca := filepath.Join(dir, "x.p7m"), filepath.Join(dir, "ca.pem")
			os.WriteFile(in, p7m, 0o600)
			os.WriteFile(ca, f.pki.CAPEM(), 0o600)
			out, err := exec.Command(openssl, "cms", "-verify", "-inform", "DER", "-in", in, "-CAfile", ca).Output()
			if err != nil || !bytes.Equal(out, ldif) {
				t.Fatalf("openssl cms -verify: %v %q", err, out)
			}
		}
	}
	empty, err := f.sha256.SignAttached(nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if got, v := smime.VerifyAttached(empty, nil); !v.Intact || v.OK() || len(got) != 0 {
		t.Fatalf("empty content: %q %v", got, v.Problems)
	}
}

func TestMicalg(t *testing.T) {
	for h, s := range map[crypto.Hash]string{crypto.SHA1: "sha1", crypto.SHA256: "sha-256", crypto.SHA384: "sha-384", crypto.SHA512: "sha-512", crypto.MD5: ""} {
		if got := smime.Micalg(h); got != s {
			t.Errorf("Micalg(%v) = %q", h, got)
		}
	}
	for in, want := range map[string]crypto.Hash{
		"sha1": crypto.SHA1, "SHA-1": crypto.SHA1, `"sha1"`: crypto.SHA1, " sha-256 ": crypto.SHA256, "sha256": crypto.SHA256,
		"SHA-384": crypto.SHA384, "sha512": crypto.SHA512, "md5, sha-256": crypto.SHA256, "md5": 0, "": 0, "unknown": 0,
	} {
		got, err := smime.ParseMicalg(in)
		if got != want || (want == 0) != errors.Is(err, smime.ErrUnknownMicalg) {
			t.Errorf("ParseMicalg(%q) = %v, %v", in, got, err)
		}
	}
}
