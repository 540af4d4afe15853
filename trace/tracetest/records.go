package tracetest

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/trace"
)

// Epoch is the time of NewRecord(0).
var Epoch = time.Date(2026, 3, 28, 23, 59, 0, 123456789, time.FixedZone("CET", 3600))

// Step is the time between NewRecord(i) and NewRecord(i+1).
const Step = 37*time.Second + 1001*time.Nanosecond

// NewRecord returns the i-th record of a realistic log, the same for the
// same i: every five records tell the life of one message (acceptance,
// transport envelope, taking charge, delivery and a delivery failure),
// with recipients in mixed case, a subject in UTF-8, and the signed bytes
// of the generated message inline, except every seventh record, which
// keeps them by reference (MessageRef and MessageHash). Times advance by
// Step from Epoch, crossing the switch to summer time.
func NewRecord(i int) *trace.Record {
	m := i / 5
	t := Epoch.Add(time.Duration(i) * Step)
	switch i % 3 {
	case 1:
		t = t.UTC()
	case 2:
		if t.After(time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)) {
			t = t.In(time.FixedZone("CEST", 7200))
		}
	}
	r := &trace.Record{
		Time:        t,
		MsgID:       fmt.Sprintf("opec21192.%08d.%d.46.1.184@pec.mittente.it", m, 24820+m),
		ClientMsgID: fmt.Sprintf("client-%d.%d@MUA.Example.org", m, m*7919%1000),
		Sender:      fmt.Sprintf("utente%d@pec.mittente.it", m%7),
		Recipients: []pec.Recipient{
			{Address: fmt.Sprintf("Dest%d@pec.destinatario.it", m%5), Type: pec.RecipientCertified},
			{Address: fmt.Sprintf("esterno%d@example.com", m%3), Type: pec.RecipientExternal},
		},
		Subject:  fmt.Sprintf("Fattura n. %d — saldo più interessi", m),
		Provider: "Gestore Mittente S.p.A.",
	}
	if m%4 == 3 {
		r.Recipients = r.Recipients[:1]
	}
	if m%6 == 5 {
		r.ClientMsgID = ""
	}
	rcpt := r.Recipients[0].Address
	gen := fmt.Sprintf("gen.%d.%d@pec.mittente.it", i, i*31%97)
	switch i % 5 {
	case 0:
		r.Point, r.Event, r.Kind = trace.PointAccess, trace.EventAcceptance, pec.KindAcceptance
		r.QueueID = fmt.Sprintf("l0JE9EDP%06d", m)
	case 1:
		r.Point, r.Event, r.Kind = trace.PointAccess, trace.EventTransport, pec.KindTransport
		gen = r.MsgID
	case 2:
		r.Point, r.Event, r.Kind = trace.PointIncoming, trace.EventTakenInCharge, pec.KindTakeInCharge
		r.Reception = rcpt
		r.Provider = "Gestore Destinatario S.p.A."
	case 3:
		r.Point, r.Event, r.Kind = trace.PointDelivery, trace.EventDelivery, pec.KindDelivery
		r.ReceiptType, r.Delivery = pec.ReceiptFull, rcpt
		r.Provider = "Gestore Destinatario S.p.A."
	case 4:
		r.Point, r.Event, r.Kind = trace.PointDelivery, trace.EventNonDelivery, pec.KindDeliveryError
		r.Delivery, r.Error, r.ErrorExtended = strings.ToLower(rcpt), pec.ErrorNoDest, "5.1.1 - casella inesistente"
		r.Provider = "Gestore Destinatario S.p.A."
	}
	r.Generated = []string{gen}
	msg := []byte(fmt.Sprintf("Message-ID: <%s>\r\nX-Ricevuta: %s\r\nSubject: %s\r\n\r\n%s\r\n", gen, r.Event, r.Subject,
		strings.Repeat("firmato ", 1+i%23)))
	if i%7 == 6 {
		r.MessageRef = "sha256/" + fmt.Sprintf("%x", sha(msg))
		r.MessageHash = sha(msg)
	} else {
		r.Message = msg
	}
	return r
}

// NewRecords returns NewRecord(from) to NewRecord(from+n-1).
func NewRecords(from, n int) []*trace.Record {
	out := make([]*trace.Record, n)
	for i := range out {
		out[i] = NewRecord(from + i)
	}
	return out
}

func sha(b []byte) trace.Hash { return sha256.Sum256(b) }
