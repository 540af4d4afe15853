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
	"github.com/pecsdk/pec/provider"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
	"github.com/pecsdk/pec/receipt"
)

// Alice (alpha) sends a clean message to bob (beta) and mallory (alpha).
// alpha cannot reach beta yet. Mallory wraps the genuine envelope she got
// in ordinary mail whose own text part holds the EICAR string and pushes
// it to beta's incoming point: beta scans the whole wrapper, signs a
// rilevazione-virus about alice's message, and alpha then certifies to
// alice a virus non-delivery for bob (PEC.md §6.10).
func TestUnsignedHeaderVirusBlame(t *testing.T) {
	n := providertest.NewNetwork(t, &providertest.Options{
		Routes: provider.StaticRouter{"pec.beta.example": "127.0.0.1:1"}, // alpha → beta down for now
	})
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	mallory := alpha.AddUser("mallory", "m-pass")
	bob := beta.AddUser("bob", "b-pass")
	send(t, n, alpha, "a-pass", &client.Draft{From: alice, To: []string{bob, mallory}, Subject: "Offerta", Text: "Offerta pulita, nessun virus."})
	env := waitMessages(t, alpha, mallory, mailbox.Inbox, 1)[0]
	e, err := envelope.Parse(bytes.NewReader(env), n.VerifyOptions())
	if err != nil || !e.OK() {
		t.Fatalf("mallory's copy: %v", err)
	}
	id := e.Data.ID
	const eicar = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`
	// No wrapper: the genuine envelope, with an unsigned third part in its
	// multipart/signed holding the EICAR string.
	raw := string(env)
	i := strings.Index(raw, "\r\n\r\n")
	bd := regexp.MustCompile(`boundary="?([^";\r\n]+)"?`).FindStringSubmatch(raw[:i])[1]
	_ = bd
	wrapper := "X-Note: " + eicar + "\r\n" + raw // an unsigned header field only
	if err := pushIncoming(t, n, beta, alice, []string{bob}, []byte(wrapper)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	var blamed bool
	for !blamed && time.Now().Before(deadline) {
		rs, _ := alpha.Messages(alice, mailbox.Inbox)
		for _, b := range rs {
			if rc, err := receipt.Parse(bytes.NewReader(b), n.VerifyOptions()); err == nil && rc.Data != nil && rc.Data.ID == id {
				if rc.OK() && (rc.Kind == pec.KindDeliveryErrorVirus || rc.Kind == pec.KindVirusDetected) && !blamed {
					t.Logf("alice got %s OK=%v consegna=%s errore-esteso=%q", rc.Kind, rc.OK(), rc.Data.Delivery, rc.Data.ExtendedError)
					blamed = true
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	svc, _ := alpha.Messages(alpha.MailReceipt, mailbox.Inbox)
	for _, b := range svc {
		if rc, err := receipt.Parse(bytes.NewReader(b), n.VerifyOptions()); err == nil {
			t.Logf("alpha's service mailbox: %s OK=%v", rc.Kind, rc.OK())
		}
	}
	if blamed {
		t.Errorf("alice's clean message is certified as carrying a virus because of an attacker's wrapper")
	}
}
