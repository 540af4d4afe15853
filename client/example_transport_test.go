package client_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/smime"
)

// Compose writes the message a PEC provider expects: one From, To and Cc,
// no Bcc, the Message-ID kept for correlation, and X-TipoRicevuta.
func ExampleCompose() {
	d := &client.Draft{
		From:        "alice@pec.example.it",
		To:          []string{"bob@pec.example.it"},
		Subject:     "Offerta",
		Text:        "In allegato l'offerta.",
		ReceiptType: pec.ReceiptSummary,
		MessageID:   "offerta-7@client.example.it",
		Date:        time.Date(2026, 9, 14, 9, 0, 0, 0, pec.Location),
	}
	var b strings.Builder
	if _, err := client.Compose(&b, d, nil); err != nil {
		log.Fatal(err)
	}
	fmt.Print(strings.ReplaceAll(b.String(), "\r\n", "\n")) // lines end in CRLF
	// Output:
	// Content-Transfer-Encoding: quoted-printable
	// Content-Type: text/plain; charset=utf-8
	// From: <alice@pec.example.it>
	// To: <bob@pec.example.it>
	// Subject: Offerta
	// Date: Mon, 14 Sep 2026 09:00:00 +0200
	// Message-ID: <offerta-7@client.example.it>
	// X-TipoRicevuta: sintetica
	// MIME-Version: 1.0
	//
	// In allegato l'offerta.
}

// LookupPreset gives a provider's servers.
func ExampleLookupPreset() {
	p, _ := client.LookupPreset("aruba")
	fmt.Println(p.SMTP.Addr(), p.SMTP.Security)
	fmt.Println(p.IMAP.Addr(), p.POP3.Addr())
	// Output:
	// smtps.pec.aruba.it:465 tls
	// imaps.pec.aruba.it:993 pop3s.pec.aruba.it:995
}

// Send submits a PEC and registers it with the tracker that will follow
// its receipts; Fetch brings them in, judging each by the provider index
// (PEC.md §13): only receipts signed by a provider it lists, managing the
// recipient's domain, are evidence.
func ExampleSend() {
	f, err := os.Open("igpec.ldif") // the index as published; or an index.Mirror of the directory
	if err != nil {
		log.Fatal(err)
	}
	idx, err := index.ParseLDIF(f)
	f.Close()
	if err != nil {
		log.Fatal(err)
	}
	tr, err := client.OpenTracker("pec-tracker", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	aruba, _ := client.LookupPreset("aruba")
	ctx := context.Background()
	sub, err := client.Send(ctx, &client.Draft{
		From: "mario.rossi@pec.it", To: []string{"ufficio@pec.comune.example.it"},
		Subject: "Istanza", Text: "Si trasmette l'istanza.",
	}, &client.SubmitOptions{
		Server: aruba.SMTP, Username: "mario.rossi@pec.it", Password: os.Getenv("PEC_PASSWORD"),
		Tracker: tr,
	})
	if err != nil {
		log.Fatal(err)
	}
	res, err := client.Fetch(ctx, &client.FetchOptions{
		Protocol: client.IMAP, Server: aruba.IMAP,
		Username: "mario.rossi@pec.it", Password: os.Getenv("PEC_PASSWORD"),
		Dir: "pec-mail", Tracker: tr,
		Verify: &smime.VerifyOptions{Authority: idx}, // CurrentTime zero: verified live
	})
	if err != nil {
		log.Fatal(err)
	}
	st, _ := tr.Status(sub.MessageID)
	fmt.Println(len(res.Messages), "fetched")
	for _, r := range st.Recipients {
		fmt.Println(r.Address, r.State)
	}
}
