package provider_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/provider/providertest"
)

// genuineEnvelope returns the transport envelope, signed by provider p,
// of a plain-text message from sender to rcpt with the given subject,
// body and client Message-ID: the genuine object the tests then tamper
// with outside its signature.
func genuineEnvelope(t testing.TB, p *providertest.Provider, sender, rcpt, subject, body, msgid string) *bytes.Buffer {
	t.Helper()
	t0 := pec.Local(time.Now().Add(-time.Minute))
	id := pec.NewMsgID(p.Domain, t0)
	orig := "From: " + sender + "\r\nTo: " + rcpt + "\r\nSubject: " + subject + "\r\n" +
		"Date: " + t0.Format("Mon, 2 Jan 2006 15:04:05 -0700") + "\r\n" +
		"Message-ID: <" + id + ">\r\n" + pec.HeaderReference + ": <" + msgid + ">\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n" + body + "\r\n"
	d := &daticert.Data{Type: pec.CertTransport, Error: pec.ErrorNone, Sender: sender,
		Recipients: []daticert.Recipient{{Address: rcpt, Type: pec.RecipientCertified}},
		ReplyTo:    sender, Subject: subject, Provider: p.Name, Time: t0, ID: id,
		MsgID: "<" + msgid + ">", ReceiptType: pec.ReceiptFull}
	var env bytes.Buffer
	if err := envelope.Build(&env, strings.NewReader(orig), d, p.Signer, nil); err != nil {
		t.Fatal(err)
	}
	return &env
}
