package provider_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
)

// A genuine envelope whose outer, unsigned header is rewritten from
// "To: bob" to "Cc: bob": the delivery receipt must still be the one the
// signed original asks for (completa), not the sintetica of a Cc
// recipient, which carries no original.
func TestUnsignedCcRewriteDowngrade(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	env := genuineEnvelope(t, alpha, alice, bob, "Fattura", "In allegato la fattura.", "c3@client.example")
	raw := env.String()
	i := strings.Index(raw, "\r\n\r\n")
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
