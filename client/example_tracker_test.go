package client_test

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/sample"
)

// Classify a receipt and ordinary mail, judging signers by the provider
// index: a receipt is OK when a provider the index lists signed it and its
// signed content establishes its kind. Trust anchors alone (Roots) only
// tell that a CA vouches for the signer, not that it is a PEC provider.
func ExampleClassify() {
	set, err := sample.New(time.Now())
	if err != nil {
		log.Fatal(err)
	}
	idx, err := set.Index() // in real use: index.ParseLDIF, or an index.Mirror of the directory
	if err != nil {
		log.Fatal(err)
	}
	for _, opts := range []*smime.VerifyOptions{
		{Roots: set.PKI.Pool(), Authority: idx},
		{Roots: set.PKI.Pool()},
	} {
		for _, in := range [][]byte{set.Messages[pec.KindDeliverySummary], []byte(sample.Ordinary)} {
			m, err := client.Classify(bytes.NewReader(in), opts)
			if err != nil {
				log.Fatal(err)
			}
			if m.Kind == pec.KindUnknown {
				fmt.Println("ordinary mail:", m.MessageID)
				continue
			}
			fmt.Printf("%s for %s: ok %v (%s)\n", m.Kind, m.Receipt.Data.Delivery, m.Receipt.OK(), m.Signature.Summary())
		}
	}
	// Output:
	// delivery-summary for bob@pec.destinatario.example: ok true (trusted)
	// ordinary mail: ordinaria-1@posta.example
	// delivery-summary for bob@pec.destinatario.example: ok false (intact, chained to the anchors, signer not established as a PEC provider)
	// ordinary mail: ordinaria-1@posta.example
}

// A tracker follows each recipient of a sent message to its outcome.
func ExampleTracker() {
	set, err := sample.New(time.Now())
	if err != nil {
		log.Fatal(err)
	}
	// An empty path keeps the tracker in memory; give a folder to keep it.
	tr, err := client.OpenTracker("", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	err = tr.Register(client.Sent{
		MessageID: "<orig-1@client.example>", From: sample.Alice,
		To: []string{sample.Bob}, Cc: []string{sample.Carol}, Subject: "Contratto di fornitura",
	})
	if err != nil {
		log.Fatal(err)
	}
	// Receipts in any order, one of them twice, verified live against the
	// provider index: only receipts of the providers it lists are evidence.
	idx, err := set.Index()
	if err != nil {
		log.Fatal(err)
	}
	opts := &smime.VerifyOptions{Authority: idx}
	for _, k := range []pec.Kind{pec.KindDeliverySummary, pec.KindAcceptance, pec.KindDeliverySummary} {
		m, err := client.Classify(bytes.NewReader(set.Messages[k]), opts)
		if err != nil {
			log.Fatal(err)
		}
		u, err := tr.Observe(m)
		switch {
		case errors.Is(err, client.ErrUnknownMessage):
			fmt.Println("not ours:", err)
		case err != nil:
			log.Fatal(err)
		case u.Duplicate:
			fmt.Println(k, "seen already")
		default:
			fmt.Println(k, u.Changes)
		}
	}
	st, _ := tr.Status("orig-1@client.example")
	for _, r := range st.Recipients {
		fmt.Println(r.Address, r.State, r.State.Final())
	}
	// Output:
	// delivery-summary [{bob@pec.destinatario.example submitted delivered}]
	// acceptance [{carol@ordinaria.example submitted sent-to-ordinary-mail}]
	// delivery-summary seen already
	// bob@pec.destinatario.example delivered true
	// carol@ordinaria.example sent-to-ordinary-mail true
}
