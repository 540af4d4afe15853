package envelope_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"testing"
	"time"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/pectest"
	"github.com/pecsdk/pec/pec/smime"
)

// original returns a multipart message with a base64 attachment, about size bytes.
func original(size int) []byte {
	raw := make([]byte, size*3/4)
	rand.Read(raw)
	enc := base64.StdEncoding.EncodeToString(raw)
	var b bytes.Buffer
	b.WriteString("From: alice@pec.example.it\r\nTo: bob@pec.example.com\r\nSubject: Allegato\r\n" +
		"Message-ID: <bench@client.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nIn allegato.\r\n--b\r\nContent-Type: application/pdf; name=a.pdf\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--b--\r\n")
	return b.Bytes()
}

type benchWorld struct {
	pki    *pectest.PKI
	signer *smime.Signer
	key    crypto.Signer
	data   *daticert.Data
}

func newWorld(b *testing.B) *benchWorld {
	pki, err := pectest.NewPKI("Bench CA")
	if err != nil {
		b.Fatal(err)
	}
	s, key, err := pki.NewProvider("Bench PEC S.p.A.", "posta-certificata@pec.example.it", nil)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	return &benchWorld{pki: pki, signer: s, key: key, data: &daticert.Data{
		Type: pec.CertTransport, Sender: "alice@pec.example.it", ReplyTo: "alice@pec.example.it",
		Recipients: []daticert.Recipient{{Address: "bob@pec.example.com", Type: pec.RecipientCertified}},
		Subject:    "Allegato", Provider: "Bench PEC S.p.A.", Time: now,
		ID: pec.NewMsgID("pec.example.it", now), MsgID: "<bench@client.example>", ReceiptType: pec.ReceiptFull,
	}}
}

var sizes = []struct {
	name string
	n    int
}{{"100KB", 100 << 10}, {"10MB", 10 << 20}}

// BenchmarkBuild builds and signs a transport envelope.
func BenchmarkBuild(b *testing.B) {
	w := newWorld(b)
	for _, sz := range sizes {
		orig := original(sz.n)
		b.Run(sz.name, func(b *testing.B) {
			b.SetBytes(int64(len(orig)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := envelope.Build(io.Discard, bytes.NewReader(orig), w.data, w.signer, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseVerify parses an envelope and verifies it against the CA.
func BenchmarkParseVerify(b *testing.B) {
	w := newWorld(b)
	opts := &smime.VerifyOptions{Roots: w.pki.Pool()}
	for _, sz := range sizes {
		var env bytes.Buffer
		if err := envelope.Build(&env, bytes.NewReader(original(sz.n)), w.data, w.signer, nil); err != nil {
			b.Fatal(err)
		}
		msg := env.Bytes()
		e, err := envelope.Parse(bytes.NewReader(msg), opts)
		if err != nil || !e.Signature.Intact || !*e.Signature.Trusted {
			b.Fatalf("setup: %v %+v", err, e.Signature)
		}
		b.Run(sz.name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				e, err := envelope.Parse(bytes.NewReader(msg), opts)
				if err != nil || !e.Signature.Intact {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRefRSA2048Sign is the floor of signing: one RSA-2048 signature.
func BenchmarkRefRSA2048Sign(b *testing.B) {
	w := newWorld(b)
	key := w.key.(*rsa.PrivateKey)
	d := sha256.Sum256([]byte("digest"))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefSHA256 is the floor of hashing the same originals.
func BenchmarkRefSHA256(b *testing.B) {
	for _, sz := range sizes {
		orig := original(sz.n)
		b.Run(sz.name, func(b *testing.B) {
			b.SetBytes(int64(len(orig)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				sha256.Sum256(orig)
			}
		})
	}
}
