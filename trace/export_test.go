package trace_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/sample"
	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/tracetest"
)

// TestWriteLog pins the line format (PEC.md §14.3) for the fixture records
// and for one record of every kind built from the sample messages, with
// the random part of their identifiers normalised.
func TestWriteLog(t *testing.T) {
	var b bytes.Buffer
	if err := trace.WriteLog(&b, &trace.LogOptions{Host: "pec1", Program: "pecd", PID: 4621}, chained(10)...); err != nil {
		t.Fatal(err)
	}
	set, err := sample.New(time.Date(2026, 1, 19, 14, 9, 15, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range pec.Kinds {
		r, err := trace.FromMessage(k, set.Data[k], set.Messages[k])
		if err != nil {
			t.Fatal(err)
		}
		if k == pec.KindAcceptance {
			r.QueueID = "l0JE9EDP004620"
		}
		if k == pec.KindNonAcceptanceVirus || k == pec.KindVirusDetected {
			r.Virus = "Eicar-Test-Signature"
		}
		trace.WriteLog(&b, nil, r)
	}
	ids := regexp.MustCompile(`opec\.\d{14}\.[0-9a-f]{16}\.\d+@`)
	out := ids.ReplaceAllString(b.String(), "opec.ID@")
	golden(t, "lines.golden", out)

	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if strings.ContainsAny(line, "\r") {
			t.Errorf("line %d has a carriage return", i+1)
		}
	}
	// The example line of PEC.md §14.3, rebuilt from a record.
	r := &trace.Record{
		Time: time.Date(2007, 1, 19, 15, 9, 19, 0, time.FixedZone("CET", 3600)), Event: trace.EventDelivery, Kind: pec.KindDelivery,
		MsgID: "20070119150915.938835@pec.internal.domain", QueueID: "l0JE9EDP004620", Sender: "user1@pec.internal.domain",
		Recipients: []pec.Recipient{{Address: "user2@pec.internal.domain", Type: pec.RecipientCertified}, {Address: "user1@pec.internal.domain", Type: pec.RecipientCertified}},
		Subject:    "MESSAGGIO CON PIU DESTINATARI", Generated: []string{"20070119150919.318531@pec.internal.domain"},
		Provider: "TMail PEC test", ReceiptType: pec.ReceiptFull, Delivery: "user2@pec.internal.domain",
	}
	b.Reset()
	trace.WriteLog(&b, &trace.LogOptions{Host: "PEC_Milter", Program: "root", PID: 4621}, r)
	want := "gen 19 15:09:19 2007 PEC_Milter root [4621]: 20070119150915.938835@pec.internal.domain: queueid=l0JE9EDP004620: tipo=avvenuta-consegna (Consegna): mittente=user1@pec.internal.domain: destinatari=user2@pec.internal.domain (certificato), user1@pec.internal.domain (certificato): oggetto=MESSAGGIO CON PIU DESTINATARI: message-id=20070119150919.318531@pec.internal.domain: gestore=TMail PEC test: tipo_ricevuta=completa: consegna=user2@pec.internal.domain\n"
	if b.String() != want {
		t.Errorf("the example line of PEC.md §14.3:\n got %q\nwant %q", b.String(), want)
	}
}

func TestLineOneLine(t *testing.T) {
	r := tracetest.NewRecord(0)
	r.Subject = "due\r\nrighe\nqui"
	if l := r.Line(); strings.ContainsAny(l, "\r\n") || !strings.Contains(l, "oggetto=due righe qui:") {
		t.Fatalf("Line: %q", l)
	}
}
