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

// A genuine envelope with an unsigned third part in its multipart/signed,
// pushed to beta without any wrapper: beta delivers it to bob as is, and
// bob's client reads it as an OK transport envelope, though it carries an
// attachment nobody signed.
func TestUnsignedThirdPartDelivered(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	env := genuineEnvelope(t, alpha, alice, bob, "Fattura", "In allegato la fattura.", "c3@client.example")
	raw := env.String()
	i := strings.Index(raw, "\r\n\r\n")
	b := regexp.MustCompile(`boundary="?([^";\r\n]+)"?`).FindStringSubmatch(raw[:i])[1]
	extra := "Content-Type: text/plain\r\nContent-Disposition: attachment; filename=\"IBAN.txt\"\r\n\r\nNuovo IBAN: IT00X0000000000000000000000\r\n"
	tampered := strings.Replace(raw, "--"+b+"--", "--"+b+"\r\n"+extra+"--"+b+"--", 1)
	if err := pushIncoming(t, n, beta, alice, []string{bob}, []byte(tampered)); err != nil {
		t.Fatal(err)
	}
	got := waitMessages(t, beta, bob, mailbox.Inbox, 1)
	waitIdle(t, beta)
	m, err := client.Classify(bytes.NewReader(got[0]), n.VerifyOptions())
	if err != nil {
		t.Fatal(err)
	}
	ok := m.Envelope != nil && m.Envelope.OK()
	t.Logf("bob got kind=%s OK=%v carriesIBAN=%v", m.Kind, ok, bytes.Contains(got[0], []byte("Nuovo IBAN")))
	if m.Kind != pec.KindAnomaly {
		t.Errorf("bob got a %s: an envelope with a part outside its signature is no certified transport envelope; want it wrapped in an anomaly envelope", m.Kind)
	}
}
