package provider_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
)

// A genuine envelope with an unsigned third part in its multipart/signed,
// pushed to beta without any wrapper: beta delivers it to bob as is, and
// bob's client reads it as an OK transport envelope, though it carries an
// attachment nobody signed.
func TestUnsignedCcRewriteDowngrade(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	t0 := pec.Local(time.Now().Add(-time.Minute))
	id := pec.NewMsgID(alpha.Domain, t0)
	orig := "From: " + alice + "\r\nTo: " + bob + "\r\nSubject: Fattura\r\n" +
		"Date: " + t0.Format("Mon, 2 Jan 2006 15:04:05 -0700") + "\r\n" +
		"Message-ID: <" + id + ">\r\n" + pec.HeaderReference + ": <c3@client.example>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nIn allegato la fattura.\r\n"
	d := &daticert.Data{Type: pec.CertTransport, Error: pec.ErrorNone, Sender: alice,
		Recipients: []daticert.Recipient{{Address: bob, Type: pec.RecipientCertified}},
		ReplyTo:    alice, Subject: "Fattura", Provider: alpha.Name, Time: t0, ID: id,
		MsgID: "<c3@client.example>", ReceiptType: pec.ReceiptFull}
	var env bytes.Buffer
	if err := envelope.Build(&env, strings.NewReader(orig), d, alpha.Signer, nil); err != nil {
		t.Fatal(err)
	}
	raw := env.String()
	i := strings.Index(raw, "\r\n\r\n")
	b := regexp.MustCompile(`boundary="?([^";\r\n]+)"?`).FindStringSubmatch(raw[:i])[1]
	_ = b
	// The outer (unsigned) header: To bob becomes Cc bob.
	hdr := raw[:i+2]
	hdr2 := regexp.MustCompile(`(?m)^To: `).ReplaceAllString(hdr, "To: undisclosed-recipients:;\r\nCc: ")
	tampered := hdr2 + raw[i+2:]
	if err := pushIncoming(t, n, beta, alice, []string{bob}, []byte(tampered)); err != nil {
		t.Fatal(err)
	}
	waitMessages(t, beta, bob, mailbox.Inbox, 1)
	waitIdle(t, beta)
	waitIdle(t, alpha)
	for _, m := range waitMessages(t, alpha, alice, mailbox.Inbox, 1) {
		c, err := client.Classify(bytes.NewReader(m), n.VerifyOptions())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("alice got %s OK=%v", c.Kind, c.Receipt != nil && c.Receipt.OK())
		if c.Kind == pec.KindDeliverySummary {
			t.Errorf("bob, a To recipient in the signed original, got a sintetica receipt (no original) because of the unsigned outer Cc")
		}
	}
}
