package filestore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/filestore"
)

// A provider opens its log once, appends a record for every event, and
// answers queries and re-issue requests from it.
func Example() {
	dir, _ := os.MkdirTemp("", "trace")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	st, err := filestore.Open(ctx, dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, pec.Location)
	receipt := []byte("Message-ID: <ricevuta.1@pec.example.it>\r\nX-Ricevuta: accettazione\r\n\r\n(signed bytes)\r\n")
	acceptance := &trace.Record{
		Time: at, Point: trace.PointAccess, Event: trace.EventAcceptance, Kind: pec.KindAcceptance,
		MsgID: "opec.1@pec.example.it", ClientMsgID: "abc@mua.example.org",
		Sender:     "mario.rossi@pec.example.it",
		Recipients: []pec.Recipient{{Address: "ufficio@pec.comune.example.it", Type: pec.RecipientCertified}},
		Subject:    "Istanza", Provider: "Gestore di Esempio S.p.A.",
		Generated: []string{"ricevuta.1@pec.example.it"}, Message: receipt,
	}
	transport := &trace.Record{
		Time: at, Point: trace.PointAccess, Event: trace.EventTransport, Kind: pec.KindTransport,
		MsgID: "opec.1@pec.example.it", Sender: "mario.rossi@pec.example.it",
		Recipients: acceptance.Recipients, Provider: acceptance.Provider,
		Generated: []string{"opec.1@pec.example.it"},
	}
	if err := st.Append(ctx, acceptance, transport); err != nil { // durable when it returns
		log.Fatal(err)
	}

	recs, _ := st.Query(ctx, trace.Query{Address: "UFFICIO@pec.comune.example.it"})
	for _, r := range recs {
		fmt.Println(r.Seq, r.Event)
	}
	again, _ := st.Reissue(ctx, "<ricevuta.1@pec.example.it>")
	fmt.Println("re-issued byte for byte:", string(again) == string(receipt))
	rep, _ := trace.Verify(ctx, st, nil)
	fmt.Println("verified:", rep.OK(), rep.Records, "records")
	st.Close()

	// Reopened, the log is all there.
	st, _ = filestore.Open(ctx, dir, nil)
	defer st.Close()
	seq, _, _ := st.Head(ctx)
	fmt.Println("head after reopening:", seq)
	// Output:
	// 1 Accettazione
	// 2 BustaTrasporto
	// re-issued byte for byte: true
	// verified: true 2 records
	// head after reopening: 2
}

// A directory that is not a trace store is refused, and left untouched.
func ExampleOpen_notStore() {
	dir, _ := os.MkdirTemp("", "other")
	defer os.RemoveAll(dir)
	os.WriteFile(dir+"/notes.txt", []byte("not a log"), 0o644)
	_, err := filestore.Open(context.Background(), dir, nil)
	fmt.Println(errors.Is(err, filestore.ErrNotStore))
	// Output: true
}
