package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
const (
	senderProvider    = "Gestore Mittente S.p.A."
	senderDomain      = "pec.mittente.example"
	recipientProvider = "Gestore Destinatario S.p.A."
	recipientDomain   = "pec.destinatario.example"
	alice             = "alice@" + senderDomain   // sender
	bob               = "bob@" + recipientDomain  // certified recipient (To)
	carol             = "carol@ordinaria.example" // ordinary recipient (Cc)
)

// sampleOriginal is the message alice submits: text and a PDF attachment.
const sampleOriginal = "From: Alice Rossi <" + alice + ">\r\n" +
	"To: Bob Bianchi <" + bob + ">\r\n" +
	"Cc: " + carol + "\r\n" +
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

// sampleOrdinary is ordinary Internet mail, delivered in an anomaly envelope.
const sampleOrdinary = "From: mario@posta.example\r\n" +
	"To: " + bob + "\r\n" +
	"Subject: Offerta\r\n" +
	"Date: Mon, 14 Sep 2026 10:00:00 +0200\r\n" +
	"Message-ID: <ordinaria-1@posta.example>\r\n" +
	"\r\n" +
	"Messaggio ordinario, non certificato.\r\n"

func cmdSample(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("sample", flag.ContinueOnError)
	dir := fs.String("o", "", "output folder (created if missing)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || fs.NArg() != 0 {
		return fmt.Errorf("sample: usage: pec sample -o DIR")
	}
	files, err := writeSamples(*dir, timeNow())
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintln(out, "wrote", f)
	}
	return nil
}

// writeSamples writes ca.pem, the two provider certificates and one signed
// message of every catalogue kind to dir, and returns their paths.
func writeSamples(dir string, now time.Time) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	pki, err := pectest.NewPKI("PEC Sample CA")
	if err != nil {
		return nil, err
	}
	sa, _, err := pki.NewProvider(senderProvider, pec.ServiceLocalPart+"@"+senderDomain, nil)
	if err != nil {
		return nil, err
	}
	sb, _, err := pki.NewProvider(recipientProvider, pec.ServiceLocalPart+"@"+recipientDomain, nil)
	if err != nil {
		return nil, err
	}
	var files []string
	save := func(name string, data []byte) error {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		files = append(files, p)
		return nil
	}
	if err := save("ca.pem", pki.CAPEM()); err != nil {
		return nil, err
	}
	if err := save("provider-mittente.pem", certPEM(sa)); err != nil {
		return nil, err
	}
	if err := save("provider-destinatario.pem", certPEM(sb)); err != nil {
		return nil, err
	}

	t0 := pec.Local(now)
	env := &daticert.Data{
		Type:   pec.CertTransport,
		Error:  pec.ErrorNone,
		Sender: alice,
		Recipients: []daticert.Recipient{
			{Address: bob, Type: pec.RecipientCertified},
			{Address: carol, Type: pec.RecipientExternal},
		},
		ReplyTo:     alice,
		Subject:     "Contratto di fornitura",
		Provider:    senderProvider,
		Time:        t0,
		ID:          pec.NewMsgID(senderDomain, t0),
		MsgID:       "<orig-1@client.example>",
		ReceiptType: pec.ReceiptFull,
	}
	var transport bytes.Buffer
	if err := envelope.Build(&transport, strings.NewReader(sampleOriginal), env, sa, nil); err != nil {
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
	if err := envelope.BuildAnomaly(&anomaly, strings.NewReader(sampleOrdinary),
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
	svcA := pec.ServiceLocalPart + "@" + senderDomain // mailReceipt of the sender's provider
	plans := []plan{
		{kind: pec.KindAcceptance, signer: sa, provider: senderProvider, at: t0},
		{kind: pec.KindNonAcceptance, signer: sa, provider: senderProvider, at: t0, extended: "destinatario non presente nei campi To o Cc", errore: pec.ErrorOther},
		{kind: pec.KindNonAcceptanceVirus, signer: sa, provider: senderProvider, at: t0, extended: "Eicar-Test-Signature"},
		{kind: pec.KindTakeInCharge, signer: sb, provider: recipientProvider, at: t0.Add(2 * time.Second), rcpt: []string{bob}, to: svcA},
		{kind: pec.KindDelivery, signer: sb, provider: recipientProvider, at: t0.Add(3 * time.Second), rcpt: []string{bob}, original: deposited},
		{kind: pec.KindDeliveryShort, signer: sb, provider: recipientProvider, at: t0.Add(3 * time.Second), rcpt: []string{bob}, original: deposited},
		{kind: pec.KindDeliverySummary, signer: sb, provider: recipientProvider, at: t0.Add(3 * time.Second), rcpt: []string{bob}},
		{kind: pec.KindDeliveryError, signer: sb, provider: recipientProvider, at: t0.Add(3 * time.Second), rcpt: []string{bob}, errore: pec.ErrorNoDest, extended: "5.1.1 - " + recipientProvider + " - casella inesistente"},
		{kind: pec.KindVirusDetected, signer: sb, provider: recipientProvider, at: t0.Add(3 * time.Second), rcpt: []string{bob}, to: svcA, extended: "Eicar-Test-Signature"},
		{kind: pec.KindDeliveryErrorVirus, signer: sa, provider: senderProvider, at: t0.Add(5 * time.Second), rcpt: []string{bob}, extended: "Eicar-Test-Signature"},
		{kind: pec.KindDeliveryTimeout12h, signer: sa, provider: senderProvider, at: t0.Add(12 * time.Hour), rcpt: []string{bob}, extended: "4.4.7 - tempo massimo di consegna superato (12 ore)"},
		{kind: pec.KindDeliveryTimeout24h, signer: sa, provider: senderProvider, at: t0.Add(23 * time.Hour), rcpt: []string{bob}, extended: "5.4.7 - tempo massimo di consegna superato (24 ore)"},
	}
	out := map[pec.Kind][]byte{pec.KindTransport: transport.Bytes(), pec.KindAnomaly: anomaly.Bytes()}
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
	}
	for i, k := range pec.Kinds {
		if err := save(fmt.Sprintf("%02d-%s.eml", i+1, k), out[k]); err != nil {
			return nil, err
		}
	}
	return files, nil
}

func certPEM(s *smime.Signer) []byte {
	var b bytes.Buffer
	for _, c := range s.Chain()[:1] {
		b.Write(pemCert(c.Raw))
	}
	return b.Bytes()
}
