package provider_test

import (
	"bytes"
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/provider"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
	"github.com/pecsdk/pec/receipt"
)

// deadAddr is an address where nothing listens.
func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

func TestTimeouts(t *testing.T) {
	n := providertest.NewNetwork(t, &providertest.Options{
		Names:  []string{"alpha", "beta", "gamma"},
		Routes: map[string]string{"pec.gamma.example": deadAddr(t)},
		Configure: func(name string, c *provider.Config) {
			if name == "alpha" {
				c.WarnAfter, c.GiveUpAfter = time.Second, 3*time.Second
			}
		},
	})
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	dave := "dave@pec.gamma.example"
	start := time.Now()
	send(t, n, alpha, "a-pass", &client.Draft{From: alice, To: []string{dave}, Subject: "Silenzio", Text: "?"})
	acc := receipts(t, n, waitMessages(t, alpha, alice, mailbox.Inbox, 1))[0]

	// A delivery receipt for dave signed by beta, a listed provider that
	// does not manage dave's domain: deposited (it is a valid notice to
	// alice) but no evidence about dave, so the final notice still comes.
	rd := receipt.NewData(pec.KindDeliverySummary, acc.Data, beta.Name, pec.Local(time.Now()), []string{dave}, "")
	rd.Type, rd.Error, rd.ReceiptType = pec.CertDelivery, pec.ErrorNone, pec.ReceiptSummary
	var b bytes.Buffer
	if err := receipt.Build(&b, pec.KindDeliverySummary, rd, beta.Signer, nil); err != nil {
		t.Fatal(err)
	}
	if err := pushIncoming(t, n, alpha, beta.Address, []string{alice}, b.Bytes()); err != nil {
		t.Fatal(err)
	}

	msgs := waitMessages(t, alpha, alice, mailbox.Inbox, 4)
	waitIdle(t, alpha)
	var got []pec.Kind
	for _, m := range msgs {
		r, err := receipt.Parse(bytes.NewReader(m), n.VerifyOptions())
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.Kind)
		if r.Kind.IsTimeout() && (!r.OK() || r.Data.Delivery != dave) {
			t.Errorf("%v: OK %v, consegna %q", r.Kind, r.OK(), r.Data.Delivery)
		}
	}
	for _, k := range []pec.Kind{pec.KindAcceptance, pec.KindDeliveryTimeout12h, pec.KindDeliveryTimeout24h} {
		if !slices.Contains(got, k) {
			t.Errorf("alice got %v, lacking %v", got, k)
		}
	}
	if len(got) != 4 {
		t.Errorf("alice got %v", got)
	}
	if el := time.Since(start); el < 3*time.Second {
		t.Errorf("final notice after %v, before GiveUpAfter", el)
	}
	// The 12 h warning is not emitted when a presa in carico came in time.
	_ = context.Background
}

// A presa in carico in time and no delivery: the final notice only (PEC.md
// §10.3, second row).
func TestTakenThenSilence(t *testing.T) {
	n := providertest.NewNetwork(t, &providertest.Options{
		Routes: map[string]string{"pec.beta.example": deadAddr(t)}, // alpha cannot reach beta
		Configure: func(name string, c *provider.Config) {
			if name == "alpha" {
				c.WarnAfter, c.GiveUpAfter = 2*time.Second, 4*time.Second
			}
		},
	})
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	send(t, n, alpha, "a-pass", &client.Draft{From: alice, To: []string{bob}, Subject: "Presa", Text: "?"})
	acc := receipts(t, n, waitMessages(t, alpha, alice, mailbox.Inbox, 1))[0]
	// beta's genuine presa in carico reaches alpha's service mailbox.
	pic := receipt.NewData(pec.KindTakeInCharge, acc.Data, beta.Name, pec.Local(time.Now()), []string{bob}, "")
	var b bytes.Buffer
	if err := receipt.Build(&b, pec.KindTakeInCharge, pic, beta.Signer, &receipt.Options{To: alpha.MailReceipt}); err != nil {
		t.Fatal(err)
	}
	if err := pushIncoming(t, n, alpha, beta.Address, []string{alpha.MailReceipt}, b.Bytes()); err != nil {
		t.Fatal(err)
	}
	waitMessages(t, alpha, alpha.MailReceipt, mailbox.Inbox, 1)
	msgs := waitMessages(t, alpha, alice, mailbox.Inbox, 2)
	waitIdle(t, alpha)
	msgs, _ = alpha.Messages(alice, mailbox.Inbox)
	var got []pec.Kind
	for _, r := range receipts(t, n, msgs) {
		got = append(got, r.Kind)
	}
	if want := []pec.Kind{pec.KindAcceptance, pec.KindDeliveryTimeout24h}; !slices.Equal(got, want) {
		t.Fatalf("alice got %v, want %v", got, want)
	}
}
