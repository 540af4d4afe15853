package smime_test

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
	"github.com/pecsdk/pec/pec/pectest"
	"github.com/pecsdk/pec/pec/smime"
)

// A provider signs a receipt as it writes it: the header, then the signed
// first body part, then Close adds the signature.
func ExampleSigner_NewWriter() {
	pki, err := pectest.NewPKI("Example CA")
	if err != nil {
		log.Fatal(err)
	}
	signer, _, err := pki.NewProvider("Example PEC S.p.A.", "posta-certificata@pec.example.it", nil)
	if err != nil {
		log.Fatal(err)
	}

	var h textproto.Header
	h.Add("X-Ricevuta", "accettazione")
	h.Add("Subject", "ACCETTAZIONE: prova")
	h.Add("From", "posta-certificata@pec.example.it")

	var msg bytes.Buffer
	w, err := signer.NewWriter(&msg, h, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	io.WriteString(w, "Content-Type: text/plain; charset=us-ascii\n\nRicevuta di accettazione\n")
	if err := w.Close(); err != nil { // the message is complete only now
		log.Fatal(err)
	}
	m, err := message.Read(&msg)
	if err != nil {
		log.Fatal(err)
	}
	mt, params, _ := m.Header.ContentType()
	fmt.Println(signer.Address())
	fmt.Println(mt, params["protocol"], params["micalg"])
	// Output:
	// posta-certificata@pec.example.it
	// multipart/signed application/pkcs7-signature sha-256
}

// A client checks the signature of a received message: content is the
// first body part of the multipart/signed as received, signature the
// decoded smime.p7s.
func ExampleVerify() {
	pki, _ := pectest.NewPKI("Example CA")
	signer, _, _ := pki.NewProvider("Example PEC S.p.A.", "posta-certificata@pec.example.it", nil)
	content := "Content-Type: text/plain\r\n\r\nRicevuta di accettazione\r\n"
	signature, _ := signer.SignDetached(bytes.NewReader([]byte(content)), time.Now())

	// The provider index says which signers are PEC providers; here the
	// caller pins the one provider it knows (package pec/index builds an
	// Authority from the published index, or from pinned certificates).
	v, err := smime.Verify(bytes.NewReader([]byte(content)), signature, &smime.VerifyOptions{
		Roots:     pki.Pool(),
		Authority: pinnedProvider{signer.Certificate()},
		From:      "posta-certificata@pec.example.it",
	})
	if err != nil {
		log.Fatal(err) // reading content failed
	}
	fmt.Println(v.OK(), v.Intact, *v.Chained, *v.Trusted, *v.FromMatches, v.Algorithm, v.SignerEmail)

	// Trust anchors alone establish a chain, not a PEC provider.
	v, _ = smime.Verify(bytes.NewReader([]byte(content)), signature, &smime.VerifyOptions{Roots: pki.Pool()})
	fmt.Println(v.OK(), v.Summary())

	// Without any trust option only integrity is checked, and said so.
	v, _ = smime.Verify(bytes.NewReader([]byte(content)), signature, nil)
	fmt.Println(v.OK(), v.Summary())

	v, _ = smime.Verify(bytes.NewReader([]byte(content+"tampered")), signature, nil)
	fmt.Println(v.OK(), v.Problems[0].Code)
	// Output:
	// true true true true true sha256-rsa posta-certificata@pec.example.it
	// false intact, chained to the anchors, signer not established as a PEC provider
	// false intact, trust not checked
	// false digest-mismatch
}

// pinnedProvider is the smallest Authority: one provider certificate the
// caller trusts, for any domain.
type pinnedProvider struct{ cert *x509.Certificate }

func (p pinnedProvider) Authorize(signer *x509.Certificate, _ string, _ time.Time) error {
	if !signer.Equal(p.cert) {
		return smime.Problem{Code: smime.ProblemUnlisted, Detail: "not the pinned provider"}
	}
	return nil
}
