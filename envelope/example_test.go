package envelope_test

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/pectest"
	"github.com/pecsdk/pec/pec/smime"
)

func ExampleBuild() {
	pki, err := pectest.NewPKI("Example CA")
	if err != nil {
		log.Fatal(err)
	}
	signer, _, err := pki.NewProvider("Example PEC S.p.A.", "posta-certificata@pec.example.it", nil)
	if err != nil {
		log.Fatal(err)
	}
	original := "From: alice@pec.example.it\r\nTo: bob@pec.example.com\r\nSubject: Contratto\r\n" +
		"Message-ID: <orig-1@client.example>\r\n\r\nIl contratto firmato.\r\n"
	at := time.Now() // the temporal reference: Date, daticert data and signing time
	d := &daticert.Data{
		Type:        pec.CertTransport,
		Sender:      "alice@pec.example.it",
		Recipients:  []daticert.Recipient{{Address: "bob@pec.example.com", Type: pec.RecipientCertified}},
		ReplyTo:     "alice@pec.example.it",
		Subject:     "Contratto",
		Provider:    "Example PEC S.p.A.",
		Time:        at,
		ID:          "opec.20260914090005.1@pec.example.it",
		MsgID:       "<orig-1@client.example>",
		ReceiptType: pec.ReceiptFull,
	}
	var out bytes.Buffer
	if err := envelope.Build(&out, strings.NewReader(original), d, signer, nil); err != nil {
		log.Fatal(err)
	}

	// A reader trusts the providers the index lists (here one, pinned).
	providers, err := index.New([]index.Provider{{
		Name:         "Example PEC S.p.A.",
		MailReceipt:  "posta-certificata@pec.example.it",
		Domains:      []string{"pec.example.it"},
		Certificates: []*x509.Certificate{signer.Certificate()},
	}})
	if err != nil {
		log.Fatal(err)
	}
	env, err := envelope.Parse(bytes.NewReader(out.Bytes()), &smime.VerifyOptions{Roots: pki.Pool(), Authority: providers})
	if err != nil {
		log.Fatal(err)
	}
	subject, _ := env.Header.Subject()
	fmt.Println(env.Kind, "|", subject)
	fmt.Println("intact:", env.Signature.Intact, "trusted:", *env.Signature.Trusted, "OK:", env.OK())
	fmt.Println("sender:", env.Sender())
	fmt.Println("identificativo:", env.Data.ID)
	orig, _ := env.OriginalMessage()
	id, _ := orig.Header.MessageID()
	fmt.Println("original Message-ID:", id)
	// Output:
	// transport | POSTA CERTIFICATA: Contratto
	// intact: true trusted: true OK: true
	// sender: alice@pec.example.it
	// identificativo: opec.20260914090005.1@pec.example.it
	// original Message-ID: opec.20260914090005.1@pec.example.it
}
