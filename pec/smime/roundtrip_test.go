package smime_test

import (
	"bytes"
	"crypto"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
	"github.com/pecsdk/pec/pec/smime"
)

// outerHeader is the header of a PEC receipt as a provider writes it.
func outerHeader(from string) textproto.Header {
	var h textproto.Header
	h.Add("Content-Type", "text/plain") // replaced by NewWriter
	h.Add("X-Ricevuta", "accettazione")
	h.Add("Subject", "ACCETTAZIONE: prova")
	h.Add("From", "posta-certificata <"+from+">")
	h.Add("Date", "Tue, 3 Jun 2025 10:00:00 +0200")
	return h
}

// innerPart is a signed first body part with LF line endings, as a
// caller may write it.
const innerPart = "Content-Type: multipart/mixed; boundary=\"inner\"\n" +
	"\n" +
	"--inner\n" +
	"Content-Type: text/plain; charset=iso-8859-1\n" +
	"Content-Transfer-Encoding: quoted-printable\n" +
	"\n" +
	"Ricevuta di accettazione\n" +
	"Il giorno 03/06/2025 alle ore 10:00:00 (+0200) il messaggio\n" +
	"--inner\n" +
	"Content-Type: application/xml; name=\"daticert.xml\"\n" +
	"\n" +
	"<postacert tipo=\"accettazione\" errore=\"nessuno\"/>\n" +
	"--inner--\n"

// signMessage writes a signed message with content written in pieces of
// chunk bytes (0 = at once).
func signMessage(t testing.TB, s *smime.Signer, content string, chunk int, at time.Time) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := s.NewWriter(&buf, outerHeader(s.Address()), at)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte(content)
	for len(b) > 0 {
		n := len(b)
		if chunk > 0 && chunk < n {
			n = chunk
		}
		if _, err := w.Write(b[:n]); err != nil {
			t.Fatal(err)
		}
		b = b[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func opensslVerify(t *testing.T, openssl string, msg, caPEM []byte) {
	t.Helper()
	dir := t.TempDir()
	mf, cf := filepath.Join(dir, "msg.eml"), filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(mf, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cf, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "smime", "-verify", "-CAfile", cf, "-in", mf, "-out", filepath.Join(dir, "out")).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl smime -verify: %v\n%s", err, out)
	}
}

func TestRoundTrip(t *testing.T) {
	f := testFixture(t)
	openssl := requireOpenSSL(t)
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	for _, tc := range []struct {
		name     string
		signer   *smime.Signer
		hash     crypto.Hash
		protocol string
		micalg   string
		alg      string
	}{
		{"sha256", f.sha256, crypto.SHA256, smime.ContentType, "sha-256", "sha256-rsa"},
		{"sha1-legacy", f.sha1, crypto.SHA1, smime.LegacyContentType, "sha1", "sha1-rsa"},
		{"ecdsa", f.ecdsa, crypto.SHA256, smime.ContentType, "sha-256", "sha256-ecdsa"},
	} {
		for _, chunk := range []int{0, 1, 7} {
			t.Run(fmt.Sprintf("%s/chunk%d", tc.name, chunk), func(t *testing.T) {
				msg := signMessage(t, tc.signer, innerPart, chunk, at)
				if bytes.Contains(bytes.ReplaceAll(msg, []byte("\r\n"), nil), []byte("\n")) {
					t.Fatal("output has bare LF")
				}
				// The outer structure, as a MIME parser sees it.
				e, err := message.Read(bytes.NewReader(msg))
				if err != nil {
					t.Fatal(err)
				}
				mt, params, _ := e.Header.ContentType()
				if mt != "multipart/signed" || params["protocol"] != tc.protocol || params["micalg"] != tc.micalg {
					t.Fatalf("Content-Type %s %v", mt, params)
				}
				if e.Header.Get("MIME-Version") != "1.0" || e.Header.Get("X-Ricevuta") != "accettazione" {
					t.Fatalf("header %v", e.Header.Map())
				}
				mr := e.MultipartReader()
				var parts []string
				for {
					p, err := mr.NextPart()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					ct, _, _ := p.Header.ContentType()
					parts = append(parts, ct)
				}
				if len(parts) != 2 || parts[0] != "multipart/mixed" || parts[1] != tc.protocol {
					t.Fatalf("parts %v", parts)
				}

				content, sig, err := splitSigned(msg)
				if err != nil {
					t.Fatal(err)
				}
				if want := strings.ReplaceAll(innerPart, "\n", "\r\n"); string(content) != want {
					t.Fatalf("signed content\n%q\nwant\n%q", content, want)
				}
				v, err := smime.Verify(bytes.NewReader(content), sig, &smime.VerifyOptions{Roots: f.pki.Pool(), From: f.provider, Authority: pin(tc.signer.Certificate())})
				if err != nil {
					t.Fatal(err)
				}
				if !v.OK() || !v.Intact || v.Trusted == nil || !*v.Trusted || !*v.Chained || v.FromMatches == nil || !*v.FromMatches {
					t.Fatalf("verdict %+v", v.Problems)
				}
				if v.Hash != tc.hash || v.Algorithm != tc.alg || v.Legacy != (tc.hash == crypto.SHA1) || v.BER {
					t.Errorf("hash %v alg %s legacy %v ber %v", v.Hash, v.Algorithm, v.Legacy, v.BER)
				}
				if !v.SigningTime.Equal(at) || v.SignerEmail != f.provider || len(v.Certificates) != 2 || len(v.Chains) != 1 {
					t.Errorf("time %v email %s certs %d chains %d", v.SigningTime, v.SignerEmail, len(v.Certificates), len(v.Chains))
				}
				if len(v.Problems) != 0 {
					t.Errorf("problems %v", v.Problems)
				}
				opensslVerify(t, openssl, msg, f.pki.CAPEM())
			})
		}
	}
}

// TestLargeOpenSSL signs content of 10,000 lines and checks it with OpenSSL.
func TestLargeOpenSSL(t *testing.T) {
	f := testFixture(t)
	openssl := requireOpenSSL(t)
	var b strings.Builder
	b.WriteString("Content-Type: text/plain; charset=us-ascii\n\n")
	for i := range 10000 {
		fmt.Fprintf(&b, "line %05d of a long signed body, with some text to fill it up\n", i)
	}
	msg := signMessage(t, f.sha256, b.String(), 4096, time.Time{})
	opensslVerify(t, openssl, msg, f.pki.CAPEM())
	content, sig, err := splitSigned(msg)
	if err != nil {
		t.Fatal(err)
	}
	v, err := smime.Verify(bytes.NewReader(content), sig, &smime.VerifyOptions{Roots: f.pki.Pool()})
	if err != nil || !chainOK(v) {
		t.Fatalf("%v %v", err, v.Problems)
	}
}

// TestOpenSSLSigned verifies signatures made by OpenSSL, in DER and in the
// BER (indefinite lengths) of its streaming mode.
func TestOpenSSLSigned(t *testing.T) {
	f := testFixture(t)
	openssl := requireOpenSSL(t)
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, cert, "CERTIFICATE", f.sha256.Certificate().Raw)
	writePEM(t, key, "PRIVATE KEY", pkcs8(t, f.key))
	in := filepath.Join(dir, "in")
	content := strings.ReplaceAll(innerPart, "\n", "\r\n")
	if err := os.WriteFile(in, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		ber  bool
	}{
		{"der", nil, false},
		{"ber-stream", []string{"-stream"}, true},
		{"sha1", []string{"-md", "sha1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".p7s")
			args := append([]string{"cms", "-sign", "-binary", "-in", in, "-signer", cert, "-inkey", key, "-outform", "DER", "-out", out}, tc.args...)
			if o, err := exec.Command(openssl, args...).CombinedOutput(); err != nil {
				t.Fatalf("%v: %s", err, o)
			}
			sig, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			v, err := smime.Verify(strings.NewReader(content), sig, &smime.VerifyOptions{Roots: f.pki.Pool()})
			if err != nil {
				t.Fatal(err)
			}
			if !chainOK(v) || v.BER != tc.ber {
				t.Fatalf("ok %v ber %v problems %v", chainOK(v), v.BER, v.Problems)
			}
		})
	}
}
