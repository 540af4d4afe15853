package smime_test

import (
	"bytes"
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

	v, err := smime.Verify(bytes.NewReader([]byte(content)), signature, &smime.VerifyOptions{
		Roots: pki.Pool(),
		From:  "posta-certificata@pec.example.it",
	})
	if err != nil {
		log.Fatal(err) // reading content failed
	}
	fmt.Println(v.OK(), v.Intact, *v.Trusted, *v.FromMatches, v.Algorithm, v.SignerEmail)

	v, _ = smime.Verify(bytes.NewReader([]byte(content+"tampered")), signature, nil)
	fmt.Println(v.OK(), v.Problems[0].Code)
	// Output:
	// true true true true sha256-rsa posta-certificata@pec.example.it
	// false digest-mismatch
}
