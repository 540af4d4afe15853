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

// TestUnsignedVirusBlame: alice (alpha) sends a clean message to bob
// (beta) and mallory (alpha); alpha cannot reach beta yet. Mallory adds
// the EICAR string to the genuine envelope she got, outside its signature
// (an unsigned header, a third part of the multipart/signed, or a wrapper
// around it), and pushes it to beta's incoming point. No provider may then
// certify a virus in alice's message: neither beta's rilevazione-virus nor
// alpha's virus non-delivery to alice (PEC.md §6.9, §6.10).
func TestUnsignedVirusBlame(t *testing.T) {
	const eicar = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`
	for _, tc := range []struct {
		name  string
		forge func(env, bob string) (from, msg string)
	}{
		{"unsigned-header", func(env, _ string) (string, string) { return "", "X-Note: " + eicar + "\r\n" + env }},
		{"third-part", func(env, _ string) (string, string) {
			i := strings.Index(env, "\r\n\r\n")
			bd := regexp.MustCompile(`boundary="?([^";\r\n]+)"?`).FindStringSubmatch(env[:i])[1]
			return "", strings.Replace(env, "--"+bd+"--", "--"+bd+"\r\nContent-Type: text/plain\r\n\r\n"+eicar+"\r\n--"+bd+"--", 1)
		}},
		{"wrapper", func(env, bob string) (string, string) {
			return "x@attacker.example", "From: x@attacker.example\r\nTo: " + bob + "\r\nSubject: fwd\r\n" +
				"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"W\"\r\n\r\n" +
				"--W\r\nContent-Type: text/plain\r\n\r\n" + eicar + "\r\n" +
				"--W\r\nContent-Type: message/rfc822\r\n\r\n" + env + "\r\n--W--\r\n"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
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
			from, forged := tc.forge(string(env), bob)
			if from == "" {
				from = alice
			}
			if err := pushIncoming(t, n, beta, from, []string{bob}, []byte(forged)); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				rs, _ := alpha.Messages(alice, mailbox.Inbox)
				for _, b := range rs {
					rc, err := receipt.Parse(bytes.NewReader(b), n.VerifyOptions())
					if err == nil && rc.Data != nil && rc.Data.ID == e.Data.ID && rc.OK() &&
						(rc.Kind == pec.KindDeliveryErrorVirus || rc.Kind == pec.KindVirusDetected) {
						t.Fatalf("alice's clean message is certified as carrying a virus (%s for %s) because of bytes outside its signature", rc.Kind, rc.Data.Delivery)
					}
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}
