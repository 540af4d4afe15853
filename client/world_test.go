package client

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/receipt"
	"github.com/pecsdk/pec/sample"
)

// The tests build their receipts with the sample world: its CA, the
// sender's provider (which emits acceptance, timeout and virus non-delivery
// notices) and the recipient's provider (presa in carico, delivery, non
// delivery, virus detection).

var (
	sampleOnce sync.Once
	sampleSet  *sample.Set
	sampleErr  error
	// sampleTime is two days ago: the receipts of the tests, certified up
	// to 30 hours after it, are all in the past, and verified live they
	// are judged now, when the sample certificates (valid from an hour
	// ago) are valid.
	sampleTime = time.Now().Add(-48 * time.Hour).Truncate(time.Second)
)

func samples(tb testing.TB) *sample.Set {
	tb.Helper()
	sampleOnce.Do(func() { sampleSet, sampleErr = sample.New(sampleTime) })
	if sampleErr != nil {
		tb.Fatal(sampleErr)
	}
	return sampleSet
}

var (
	sampleIndexOnce sync.Once
	sampleIndex     *index.Snapshot
	sampleIndexErr  error
)

// verifyOpts trusts the sample CA and the providers of the sample index,
// verifying live.
func verifyOpts(tb testing.TB) *smime.VerifyOptions {
	tb.Helper()
	set := samples(tb)
	sampleIndexOnce.Do(func() { sampleIndex, sampleIndexErr = set.Index() })
	if sampleIndexErr != nil {
		tb.Fatal(sampleIndexErr)
	}
	return &smime.VerifyOptions{Roots: set.PKI.Pool(), Authority: sampleIndex}
}

// classifyBytes classifies b with verifyOpts.
func classifyBytes(tb testing.TB, b []byte) *Message {
	tb.Helper()
	m, err := Classify(bytes.NewReader(b), verifyOpts(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// sentMsg is one message sent in the sample world.
type sentMsg struct {
	sent Sent
	env  *daticert.Data
}

// newSent describes a message from Alice to the given recipients; addresses
// outside the recipient provider's domain are external (esterno).
func newSent(n int, at time.Time, to, cc []string) *sentMsg {
	id := fmt.Sprintf("msg-%d@client.example", n)
	s := Sent{MessageID: id, From: sample.Alice, To: to, Cc: cc, Subject: fmt.Sprintf("Pratica %d", n), Time: at}
	env := &daticert.Data{
		Type:        pec.CertTransport,
		Error:       pec.ErrorNone,
		Sender:      sample.Alice,
		ReplyTo:     sample.Alice,
		Subject:     s.Subject,
		Provider:    sample.SenderProvider,
		Time:        pec.Local(at),
		ID:          fmt.Sprintf("opec.%d.%d@%s", at.Unix(), n, sample.SenderDomain),
		MsgID:       pec.BracketMsgID(id),
		ReceiptType: pec.ReceiptFull,
	}
	for _, a := range append(append([]string{}, to...), cc...) {
		t := pec.RecipientCertified
		if pec.Domain(a) != sample.RecipientDomain {
			t = pec.RecipientExternal
		}
		env.Recipients = append(env.Recipients, daticert.Recipient{Address: a, Type: t})
	}
	return &sentMsg{sent: s, env: env}
}

// build returns the signed receipt of kind k about m, certified at the given
// offset from dispatch, for the recipients rcpt.
func (m *sentMsg) build(tb testing.TB, k pec.Kind, after time.Duration, rcpt ...string) []byte {
	tb.Helper()
	set := samples(tb)
	signer, provider := set.Sender, sample.SenderProvider
	var opts receipt.Options
	var extended string
	var code pec.ErrorCode
	switch k {
	case pec.KindTakeInCharge, pec.KindDelivery, pec.KindDeliveryShort, pec.KindDeliverySummary,
		pec.KindDeliveryError, pec.KindVirusDetected:
		signer, provider = set.Recipient, sample.RecipientProvider
	}
	switch k {
	case pec.KindTakeInCharge, pec.KindVirusDetected:
		opts.To = pec.ServiceLocalPart + "@" + sample.SenderDomain
	case pec.KindDelivery, pec.KindDeliveryShort:
		opts.Original = strings.NewReader("From: " + sample.Alice + "\r\nTo: " + strings.Join(rcpt, ", ") +
			"\r\nSubject: " + m.sent.Subject + "\r\nMessage-ID: " + pec.BracketMsgID(m.env.ID) +
			"\r\n" + pec.HeaderReference + ": " + m.env.MsgID + "\r\n\r\nTesto.\r\n")
	}
	switch k {
	case pec.KindNonAcceptance:
		extended, code = "destinatario non valido", pec.ErrorOther
	case pec.KindNonAcceptanceVirus, pec.KindVirusDetected, pec.KindDeliveryErrorVirus:
		extended = "Eicar-Test-Signature"
	case pec.KindDeliveryError:
		extended, code = "5.1.1 - casella inesistente", pec.ErrorNoDest
	case pec.KindDeliveryTimeout12h:
		extended = "4.4.7 - tempo massimo di consegna superato (12 ore)"
	case pec.KindDeliveryTimeout24h:
		extended = "5.4.7 - tempo massimo di consegna superato (24 ore)"
	}
	d := receipt.NewData(k, m.env, provider, m.env.Time.Add(after), rcpt, extended)
	if code != "" {
		d.Error = code
	}
	var b bytes.Buffer
	if err := receipt.Build(&b, k, d, signer, &opts); err != nil {
		tb.Fatalf("%s for %s: %v", k, m.sent.MessageID, err)
	}
	return b.Bytes()
}

// memTracker opens a tracker kept in memory.
func memTracker(tb testing.TB) *Tracker {
	tb.Helper()
	tr, err := OpenTracker("", nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tr.Close() })
	return tr
}
