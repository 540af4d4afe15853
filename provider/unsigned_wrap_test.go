package provider_test

import (
	"bytes"
	"testing"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
	"github.com/pecsdk/pec/receipt"
)

// A genuine transport envelope (alice@alpha → bob@beta), which a
// co-recipient or anyone on the path holds, is forwarded inside ordinary
// mail to beta's incoming point. inspect() takes envelope.Parse's
// Forwarded envelope as the object received: beta deposits the unsigned
// wrapper in bob's mailbox as the delivery, certifies the delivery to
// alice, and later refuses the genuine envelope as a replay.
func TestUnsignedWrappedEnvelopeDelivered(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	env := genuineEnvelope(t, alpha, alice, bob, "Diffida", "Termine di 10 giorni per pagare.", "c1@client.example")
	wrapper := "From: " + alice + "\r\nTo: " + bob + "\r\nSubject: spam, ignorare\r\n" +
		"Message-ID: <w1@attacker.example>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"W\"\r\n\r\n" +
		"--W\r\nContent-Type: text/plain\r\n\r\nInviato per errore: ignorare l'allegato.\r\n" +
		"--W\r\nContent-Type: message/rfc822\r\n\r\n" + env.String() + "\r\n--W--\r\n"
	if err := pushIncoming(t, n, beta, "x@attacker.example", []string{bob}, []byte(wrapper)); err != nil {
		t.Fatal(err)
	}
	got := waitMessages(t, beta, bob, mailbox.Inbox, 1)
	waitIdle(t, beta)
	waitIdle(t, alpha)
	m, err := client.Classify(bytes.NewReader(got[0]), n.VerifyOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bob's mailbox holds: kind=%s (ordinary=%v), wrapper=%v", m.Kind, m.Kind == pec.KindUnknown, bytes.Contains(got[0], []byte("ignorare l'allegato")))
	rs, _ := alpha.Messages(alice, mailbox.Inbox)
	delivered := false
	for _, b := range rs {
		if rc, err := receipt.Parse(bytes.NewReader(b), n.VerifyOptions()); err == nil {
			t.Logf("alice got %s OK=%v consegna=%s", rc.Kind, rc.OK(), rc.Data.Delivery)
			if rc.OK() && rc.Kind == pec.KindDelivery {
				delivered = true
			}
		}
	}
	// The genuine envelope now arrives: refused as a replay.
	if err := pushIncoming(t, n, beta, alice, []string{bob}, env.Bytes()); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, beta)
	after, _ := beta.Messages(bob, mailbox.Inbox)
	t.Logf("bob's messages after the genuine envelope: %d", len(after))
	if m.Kind == pec.KindUnknown && bytes.Contains(got[0], []byte("ignorare l'allegato")) && delivered {
		t.Errorf("beta deposited an unsigned wrapper as bob's PEC delivery and certified it to alice")
	}
}
