// Package sample builds a realistic set of PEC fixtures: a test CA, two
// providers (the sender's and the recipient's) and one signed message of
// every kind of the catalogue, all about one original message with an
// attachment. Software that consumes PEC can be tested against it, and the
// pec tool writes it to disk with "pec sample".
package sample

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/pectest"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/receipt"
)

// The sample world: a sender's provider, a recipient's provider, and users.
// Names and addresses of the sample world.
const (
	SenderProvider    = "Gestore Mittente S.p.A."
	SenderDomain      = "pec.mittente.example"
	RecipientProvider = "Gestore Destinatario S.p.A."
	RecipientDomain   = "pec.destinatario.example"
	Alice             = "alice@" + SenderDomain   // sender
	Bob               = "bob@" + RecipientDomain  // certified recipient (To)
	Carol             = "carol@ordinaria.example" // ordinary recipient (Cc)
)

// Original is the message Alice submits: text and a PDF attachment.
const Original = "From: Alice Rossi <" + Alice + ">\r\n" +
	"To: Bob Bianchi <" + Bob + ">\r\n" +
	"Cc: " + Carol + "\r\n" +
	"Subject: Contratto di fornitura\r\n" +
	"Date: Mon, 14 Sep 2026 09:00:00 +0200\r\n" +
	"Message-ID: <orig-1@client.example>\r\n" +
	pec.HeaderReceiptType + ": completa\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n" +
	"\r\n" +
	"--b1\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"Buongiorno, in allegato il contratto firmato.\r\n" +
	"--b1\r\n" +
	"Content-Type: application/pdf; name=\"contratto.pdf\"\r\n" +
	"Content-Disposition: attachment; filename=\"contratto.pdf\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoKdHJhaWxlcgo8\r\n" +
	"PC9Sb290IDEgMCBSPj4KJSVFT0YK\r\n" +
	"--b1--\r\n"

// Ordinary is ordinary Internet mail, delivered in an anomaly envelope.
const Ordinary = "From: mario@posta.example\r\n" +
	"To: " + Bob + "\r\n" +
	"Subject: Offerta\r\n" +
	"Date: Mon, 14 Sep 2026 10:00:00 +0200\r\n" +
	"Message-ID: <ordinaria-1@posta.example>\r\n" +
	"\r\n" +
	"Messaggio ordinario, non certificato.\r\n"

// Set is a complete fixture set.
type Set struct {
	PKI       *pectest.PKI                // the test CA
	Sender    *smime.Signer               // the sender's provider
	Recipient *smime.Signer               // the recipient's provider
	Envelope  *daticert.Data              // certification data of the transport envelope
	Deposited []byte                      // the original as deposited (postacert.eml)
	Messages  map[pec.Kind][]byte         // one signed message of every kind
	Data      map[pec.Kind]*daticert.Data // certification data of each message (none for the anomaly envelope)
}

// New builds a fixture set whose transport envelope is dated now; the
// timeout notices are dated 12 and 23 hours later. A live verification
// refuses a signature dated after it (smime.MaxClockSkew): to get a set
// that verifies now in full, as the pec tool does, pass a time at least
// 23 hours ago. The provider certificates are valid from an hour before
// now.
func New(now time.Time) (*Set, error) {
	pki, err := pectest.NewPKI("PEC Sample CA")
	if err != nil {
		return nil, err
	}
	validity := &pectest.ProviderOptions{NotBefore: now.Add(-time.Hour)}
	sa, _, err := pki.NewProvider(SenderProvider, pec.ServiceLocalPart+"@"+SenderDomain, validity)
	if err != nil {
		return nil, err
	}
	sb, _, err := pki.NewProvider(RecipientProvider, pec.ServiceLocalPart+"@"+RecipientDomain, validity)
	if err != nil {
		return nil, err
	}

	t0 := pec.Local(now)
	env := &daticert.Data{
		Type:   pec.CertTransport,
		Error:  pec.ErrorNone,
		Sender: Alice,
		Recipients: []daticert.Recipient{
			{Address: Bob, Type: pec.RecipientCertified},
			{Address: Carol, Type: pec.RecipientExternal},
		},
		ReplyTo:     Alice,
		Subject:     "Contratto di fornitura",
		Provider:    SenderProvider,
		Time:        t0,
		ID:          pec.NewMsgID(SenderDomain, t0),
		MsgID:       "<orig-1@client.example>",
		ReceiptType: pec.ReceiptFull,
	}
	var transport bytes.Buffer
	if err := envelope.Build(&transport, strings.NewReader(Original), env, sa, nil); err != nil {
		return nil, fmt.Errorf("transport envelope: %w", err)
	}
	// The original as deposited: the postacert.eml of the envelope.
	parsed, err := envelope.Parse(bytes.NewReader(transport.Bytes()), nil)
	if err != nil {
		return nil, err
	}
	or, err := parsed.Original()
	if err != nil {
		return nil, err
	}
	deposited, err := io.ReadAll(or)
	if err != nil {
		return nil, err
	}
	var anomaly bytes.Buffer
	if err := envelope.BuildAnomaly(&anomaly, strings.NewReader(Ordinary),
		&envelope.Anomaly{Time: t0, Reason: "messaggio non firmato da un gestore PEC"}, sb); err != nil {
		return nil, fmt.Errorf("anomaly envelope: %w", err)
	}

	type plan struct {
		kind     pec.Kind
		signer   *smime.Signer
		provider string
		at       time.Time
		rcpt     []string
		extended string
		errore   pec.ErrorCode
		to       string
		original []byte
	}
	svcA := pec.ServiceLocalPart + "@" + SenderDomain // mailReceipt of the sender's provider
	plans := []plan{
		{kind: pec.KindAcceptance, signer: sa, provider: SenderProvider, at: t0},
		{kind: pec.KindNonAcceptance, signer: sa, provider: SenderProvider, at: t0, extended: "destinatario non presente nei campi To o Cc", errore: pec.ErrorOther},
		{kind: pec.KindNonAcceptanceVirus, signer: sa, provider: SenderProvider, at: t0, extended: "Eicar-Test-Signature"},
		{kind: pec.KindTakeInCharge, signer: sb, provider: RecipientProvider, at: t0.Add(2 * time.Second), rcpt: []string{Bob}, to: svcA},
		{kind: pec.KindDelivery, signer: sb, provider: RecipientProvider, at: t0.Add(3 * time.Second), rcpt: []string{Bob}, original: deposited},
		{kind: pec.KindDeliveryShort, signer: sb, provider: RecipientProvider, at: t0.Add(3 * time.Second), rcpt: []string{Bob}, original: deposited},
		{kind: pec.KindDeliverySummary, signer: sb, provider: RecipientProvider, at: t0.Add(3 * time.Second), rcpt: []string{Bob}},
		{kind: pec.KindDeliveryError, signer: sb, provider: RecipientProvider, at: t0.Add(3 * time.Second), rcpt: []string{Bob}, errore: pec.ErrorNoDest, extended: "5.1.1 - " + RecipientProvider + " - casella inesistente"},
		{kind: pec.KindVirusDetected, signer: sb, provider: RecipientProvider, at: t0.Add(3 * time.Second), rcpt: []string{Bob}, to: svcA, extended: "Eicar-Test-Signature"},
		{kind: pec.KindDeliveryErrorVirus, signer: sa, provider: SenderProvider, at: t0.Add(5 * time.Second), rcpt: []string{Bob}, extended: "Eicar-Test-Signature"},
		{kind: pec.KindDeliveryTimeout12h, signer: sa, provider: SenderProvider, at: t0.Add(12 * time.Hour), rcpt: []string{Bob}, extended: "4.4.7 - tempo massimo di consegna superato (12 ore)"},
		{kind: pec.KindDeliveryTimeout24h, signer: sa, provider: SenderProvider, at: t0.Add(23 * time.Hour), rcpt: []string{Bob}, extended: "5.4.7 - tempo massimo di consegna superato (24 ore)"},
	}
	out := map[pec.Kind][]byte{pec.KindTransport: transport.Bytes(), pec.KindAnomaly: anomaly.Bytes()}
	data := map[pec.Kind]*daticert.Data{pec.KindTransport: env}
	for _, p := range plans {
		d := receipt.NewData(p.kind, env, p.provider, p.at, p.rcpt, p.extended)
		if p.errore != "" {
			d.Error = p.errore
		}
		switch p.kind { // each delivery variant as the sender would have asked for it
		case pec.KindDeliveryShort:
			d.ReceiptType = pec.ReceiptShort
		case pec.KindDeliverySummary:
			d.ReceiptType = pec.ReceiptSummary
		}
		opts := &receipt.Options{To: p.to}
		if p.original != nil {
			opts.Original = bytes.NewReader(p.original)
		}
		var b bytes.Buffer
		if err := receipt.Build(&b, p.kind, d, p.signer, opts); err != nil {
			return nil, fmt.Errorf("%s: %w", p.kind, err)
		}
		out[p.kind] = b.Bytes()
		data[p.kind] = d
	}
	return &Set{PKI: pki, Sender: sa, Recipient: sb, Envelope: env, Deposited: deposited, Messages: out, Data: data}, nil
}
