package memstore_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/memstore"
)

func Example() {
	ctx := context.Background()
	st := memstore.New(nil)
	defer st.Close()
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	err := st.Append(ctx,
		&trace.Record{Time: t0, Event: trace.EventAcceptance, MsgID: "opec.1@pec.example", Sender: "alice@pec.example",
			Recipients: []pec.Recipient{{Address: "Bob@pec.example", Type: pec.RecipientCertified}}},
		&trace.Record{Time: t0.Add(time.Second), Event: trace.EventTransport, MsgID: "opec.1@pec.example", Sender: "alice@pec.example"},
	)
	if err != nil {
		log.Fatal(err)
	}
	recs, err := st.Query(ctx, trace.Query{Address: "bob@PEC.example"})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range recs {
		fmt.Println(r.Seq, r.Event, r.MsgID)
	}
	// Output:
	// 1 Accettazione opec.1@pec.example
}
