package pgstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/pgstore"
)

// Open a store shared by every instance of a provider, log the emission
// of an acceptance receipt with its signed bytes, and re-issue it.
func ExampleOpen() {
	ctx := context.Background()
	st, err := pgstore.Open(ctx, os.Getenv("PEC_POSTGRES_URL"), &pgstore.Options{Schema: "pec_trace"})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	signed := []byte("...") // the receipt exactly as sent
	r := &trace.Record{
		Time:        time.Now(),
		Point:       trace.PointAccess,
		Event:       trace.EventAcceptance,
		Kind:        pec.KindAcceptance,
		MsgID:       "opec21192.20241205000210.24820.46.1.184@pec.example.it",
		ClientMsgID: "1733353330.123@client.example.org",
		Sender:      "mario.rossi@pec.example.it",
		Recipients:  []pec.Recipient{{Address: "info@pec.example.com", Type: pec.RecipientCertified}},
		Subject:     "Fattura n. 12",
		Provider:    "Gestore S.p.A.",
		Generated:   []string{"accettazione.20241205000210@pec.example.it"},
		Message:     signed,
	}
	if err := st.Append(ctx, r); err != nil {
		log.Fatal(err)
	}
	fmt.Println("logged as record", r.Seq)

	again, err := st.Reissue(ctx, "<accettazione.20241205000210@pec.example.it>")
	if err != nil {
		log.Fatal(err)
	}
	os.Stdout.Write(again)
}

// Find what the log holds about one message and one mailbox.
func ExampleStore_Query() {
	ctx := context.Background()
	st, err := pgstore.Open(ctx, os.Getenv("PEC_POSTGRES_URL"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	recs, err := st.Query(ctx, trace.Query{
		Address: "info@pec.example.com",
		Since:   time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC),
		Until:   time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Limit:   100,
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range recs {
		fmt.Println(r.Seq, r.Time.Format(time.RFC3339), r.Event, r.MsgID)
	}
}
