package trace_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"log"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/pectest"
	"github.com/pecsdk/pec/sample"
	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/memstore"
)

// A provider logs every message it emits with one call, and re-issues a
// lost receipt from the log, byte for byte.
func ExampleFromMessage() {
	ctx := context.Background()
	set, err := sample.New(time.Now())
	if err != nil {
		log.Fatal(err)
	}
	st := memstore.New(nil)
	defer st.Close()

	// The acceptance receipt as built and sent, and its certification data.
	sent := set.Messages[pec.KindAcceptance]
	rec, err := trace.FromMessage(pec.KindAcceptance, set.Data[pec.KindAcceptance], sent)
	if err != nil {
		log.Fatal(err)
	}
	if err := st.Append(ctx, rec); err != nil {
		log.Fatal(err)
	}
	fmt.Println(rec.Seq, rec.Event, rec.Point, rec.Sender)

	again, err := st.Reissue(ctx, rec.Generated[0])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("identical:", bytes.Equal(again, sent))
	// Output:
	// 1 Accettazione AP alice@pec.mittente.example
	// identical: true
}

// Seal the chain head with the provider key, then verify the whole log.
func ExampleVerify() {
	ctx := context.Background()
	pki, err := pectest.NewPKI("Example CA")
	if err != nil {
		log.Fatal(err)
	}
	signer, _, err := pki.NewProvider("Gestore Mittente S.p.A.", "posta-certificata@pec.mittente.example", nil)
	if err != nil {
		log.Fatal(err)
	}
	st := memstore.New(nil)
	defer st.Close()
	for i := range 3 {
		r := &trace.Record{
			Time: time.Now(), Point: trace.PointAccess, Event: trace.EventAcceptance, Kind: pec.KindAcceptance,
			MsgID: fmt.Sprintf("opec.%d@pec.mittente.example", i), Sender: "alice@pec.mittente.example",
		}
		if err := st.Append(ctx, r); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := trace.SealHead(ctx, st, signer, time.Now()); err != nil {
		log.Fatal(err)
	}

	rep, err := trace.Verify(ctx, st, &trace.VerifyOptions{Certificates: []*x509.Certificate{signer.Certificate()}})
	if err != nil {
		log.Fatal(err) // the store failed
	}
	if !rep.OK() {
		log.Fatal(rep.Break) // the log was tampered with: rep.Break.Seq names the record
	}
	fmt.Printf("%d records, %d seal, sealed up to record %d\n", rep.Records, rep.Seals, rep.Sealed)
	// Output:
	// 3 records, 1 seal, sealed up to record 3
}

// Records appended after the last seal are protected by the chain alone;
// RequireSealed makes them a break, with MaxUnsealed for the fresh ones a
// Sealer has yet to seal.
func ExampleVerifyOptions_requireSealed() {
	ctx := context.Background()
	pki, err := pectest.NewPKI("Example CA")
	if err != nil {
		log.Fatal(err)
	}
	signer, _, err := pki.NewProvider("Gestore Mittente S.p.A.", "posta-certificata@pec.mittente.example", nil)
	if err != nil {
		log.Fatal(err)
	}
	st := memstore.New(nil)
	defer st.Close()
	add := func(i int) {
		r := &trace.Record{Time: time.Now(), Event: trace.EventReceived, MsgID: fmt.Sprintf("m%d@pec.example", i)}
		if err := st.Append(ctx, r); err != nil {
			log.Fatal(err)
		}
	}
	for i := range 3 {
		add(i)
	}
	if _, err := trace.SealHead(ctx, st, signer, time.Now()); err != nil {
		log.Fatal(err)
	}
	add(3)
	add(4)

	opts := &trace.VerifyOptions{Certificates: []*x509.Certificate{signer.Certificate()}, RequireSealed: true}
	rep, err := trace.Verify(ctx, st, opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep.Unsealed(), rep.Break.Kind, rep.Break.Seq)
	opts.MaxUnsealed = 2
	if rep, err = trace.Verify(ctx, st, opts); err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep.OK())
	// Output:
	// 2 unsealed 4
	// true
}

// A Verify that finds the log altered names the first record wrong.
func ExampleBreak() {
	b := &trace.Break{Seq: 42, Kind: trace.BreakRemoved, Reason: "record 42 is missing: record 43 follows record 41"}
	fmt.Println(b)
	// Output:
	// trace: chain broken at record 42 (removed): record 42 is missing: record 43 follows record 41
}

// Retention: cut what is older than 30 months; a signed checkpoint takes
// its place and the rest still verifies.
func ExamplePrune() {
	ctx := context.Background()
	pki, err := pectest.NewPKI("Example CA")
	if err != nil {
		log.Fatal(err)
	}
	signer, _, err := pki.NewProvider("Gestore Mittente S.p.A.", "posta-certificata@pec.mittente.example", nil)
	if err != nil {
		log.Fatal(err)
	}
	st := memstore.New(nil)
	now := time.Now()
	for _, age := range []int{40, 31, 29, 1} { // months
		r := &trace.Record{Time: now.AddDate(0, -age, 0), Event: trace.EventReceived, MsgID: fmt.Sprintf("m%d@pec.example", age)}
		if err := st.Append(ctx, r); err != nil {
			log.Fatal(err)
		}
	}
	cp, err := trace.Prune(ctx, st, trace.RetentionCutoff(now), signer, now, &trace.VerifyOptions{Certificates: []*x509.Certificate{signer.Certificate()}})
	if err != nil {
		log.Fatal(err)
	}
	rep, err := trace.Verify(ctx, st, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("cut up to record %d; kept records %d to %d; verified: %v\n", cp.Seq, rep.First, rep.Last, rep.OK())
	// Output:
	// cut up to record 2; kept records 3 to 4; verified: true
}

// The de facto line format of provider logs.
func ExampleRecord_Line() {
	r := &trace.Record{
		Time: time.Date(2026, 1, 19, 15, 9, 19, 0, time.UTC), Event: trace.EventDelivery, Kind: pec.KindDelivery,
		MsgID: "opec.1@pec.mittente.example", Sender: "alice@pec.mittente.example",
		Recipients: []pec.Recipient{{Address: "bob@pec.destinatario.example", Type: pec.RecipientCertified}},
		Subject:    "Contratto", Generated: []string{"r.2@pec.destinatario.example"}, Provider: "Gestore Destinatario S.p.A.",
		ReceiptType: pec.ReceiptFull, Delivery: "bob@pec.destinatario.example",
	}
	fmt.Println(r.Line())
	// Output:
	// opec.1@pec.mittente.example: tipo=avvenuta-consegna (Consegna): mittente=alice@pec.mittente.example: destinatari=bob@pec.destinatario.example (certificato): oggetto=Contratto: message-id=r.2@pec.destinatario.example: gestore=Gestore Destinatario S.p.A.: tipo_ricevuta=completa: consegna=bob@pec.destinatario.example
}
