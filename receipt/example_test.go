package receipt_test

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/receipt"
	"github.com/pecsdk/pec/sample"
)

// A delivery receipt derived from the transport envelope's certification data.
func ExampleBuild() {
	set, err := sample.New(time.Now()) // a test CA, two providers, an envelope
	if err != nil {
		log.Fatal(err)
	}
	d := receipt.NewData(pec.KindDeliverySummary, set.Envelope, sample.RecipientProvider,
		time.Now(), []string{sample.Bob}, "")
	var out bytes.Buffer
	if err := receipt.Build(&out, pec.KindDeliverySummary, d, set.Recipient, nil); err != nil {
		log.Fatal(err)
	}
	rc, err := receipt.Parse(&out, nil)
	if err != nil {
		log.Fatal(err)
	}
	subject, _ := rc.Header.Subject()
	fmt.Println(rc.Kind, "|", subject, "|", rc.Data.Delivery)
	// Output: delivery-summary | CONSEGNA: Contratto di fornitura | bob@pec.destinatario.example
}

// A non-delivery notice carries its errore code as a *pec.Error.
func ExampleParse() {
	set, err := sample.New(time.Now())
	if err != nil {
		log.Fatal(err)
	}
	rc, err := receipt.Parse(bytes.NewReader(set.Messages[pec.KindDeliveryError]), nil)
	if err != nil {
		log.Fatal(err)
	}
	var perr *pec.Error
	if errors.As(rc.Err(), &perr) {
		fmt.Println(perr.Code, perr.Status(), perr.Recipient)
	}
	// Output: no-dest 5.1.1 bob@pec.destinatario.example
}
