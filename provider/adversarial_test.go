package provider_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
	"github.com/pecsdk/pec/receipt"
)

// delivered sends alice → bob across alpha and beta and waits for the
// delivery receipt; it returns the envelope bob got and alice's receipts.
func delivered(t *testing.T, n *providertest.Network) (alice, bob string, env []byte, rs [][]byte) {
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice = alpha.AddUser("alice", "a-pass")
	bob = beta.AddUser("bob", "b-pass")
	send(t, n, alpha, "a-pass", &client.Draft{From: alice, To: []string{bob}, Subject: "Contratto", Text: "In allegato."})
	rs = waitMessages(t, alpha, alice, mailbox.Inbox, 2)
	env = waitMessages(t, beta, bob, mailbox.Inbox, 1)[0]
	waitIdle(t, alpha)
	waitIdle(t, beta)
	return alice, bob, env, rs
}

func TestTamperedEnvelopeIsAnomaly(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice, bob, env, _ := delivered(t, n)
	bad := bytes.Replace(env, []byte("In allegato."), []byte("In allegatO."), 1)
	if bytes.Equal(bad, env) {
		t.Fatal("nothing tampered")
	}
	if err := pushIncoming(t, n, beta, alice, []string{bob}, bad); err != nil {
		t.Fatal(err)
	}
	msgs := waitMessages(t, beta, bob, mailbox.Inbox, 2)
	if got := kinds(t, n, msgs[1:]); !slices.Equal(got, []pec.Kind{pec.KindAnomaly}) {
		t.Fatalf("bob got %v, want an anomaly envelope", got)
	}
	waitIdle(t, beta)
	waitIdle(t, alpha)
	if msgs, _ := alpha.Messages(alice, mailbox.Inbox); len(msgs) != 2 {
		t.Fatalf("alice has %d messages, want her 2 receipts only", len(msgs))
	}
}

func TestReplayedEnvelope(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice, bob, env, _ := delivered(t, n)
	carol := beta.AddUser("carol", "c-pass")
	// The genuine envelope again to bob, and to carol whom it does not name.
	if err := pushIncoming(t, n, beta, alice, []string{bob, carol}, env); err != nil {
		t.Fatal(err)
	}
	cm := waitMessages(t, beta, carol, mailbox.Inbox, 1)
	if got := kinds(t, n, cm); !slices.Equal(got, []pec.Kind{pec.KindAnomaly}) {
		t.Fatalf("carol got %v, want an anomaly envelope", got)
	}
	waitIdle(t, beta)
	waitIdle(t, alpha)
	if msgs, _ := beta.Messages(bob, mailbox.Inbox); len(msgs) != 1 {
		t.Errorf("bob has %d messages, want the envelope once", len(msgs))
	}
	if msgs, _ := alpha.Messages(alice, mailbox.Inbox); len(msgs) != 2 {
		t.Errorf("alice has %d messages, want no second receipt", len(msgs))
	}
}

func TestReceiptFromUnlistedSigner(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	// A provider certificate from the same CA, not in the index, claiming
	// beta's service address.
	rogue, _, err := n.PKI.NewProvider(beta.Name, beta.Address, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &daticert.Data{
		Type: pec.CertTransport, Sender: alice, Recipients: []pec.Recipient{{Address: bob, Type: pec.RecipientCertified}},
		ReplyTo: alice, Subject: "x", Provider: alpha.Name, Time: pec.Local(time.Now()), ID: pec.NewMsgID(alpha.Domain, time.Now()), MsgID: "<x@y>",
	}
	rd := receipt.NewData(pec.KindDeliverySummary, d, beta.Name, pec.Local(time.Now()), []string{bob}, "")
	rd.ReceiptType = pec.ReceiptSummary
	var b bytes.Buffer
	if err := receipt.Build(&b, pec.KindDeliverySummary, rd, rogue, nil); err != nil {
		t.Fatal(err)
	}
	if err := pushIncoming(t, n, alpha, beta.Address, []string{alice}, b.Bytes()); err != nil {
		t.Fatal(err)
	}
	msgs := waitMessages(t, alpha, alice, mailbox.Inbox, 1)
	if got := kinds(t, n, msgs); !slices.Equal(got, []pec.Kind{pec.KindAnomaly}) {
		t.Fatalf("alice got %v, want an anomaly envelope", got)
	}
}

func TestReceiptReplayedToAnother(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	alpha := n.Provider("alpha")
	_, _, _, rs := delivered(t, n)
	dave := alpha.AddUser("dave", "d-pass")
	for _, r := range rs {
		if err := pushIncoming(t, n, alpha, "someone@else.example", []string{dave}, r); err != nil {
			t.Fatal(err)
		}
	}
	got := kinds(t, n, waitMessages(t, alpha, dave, mailbox.Inbox, len(rs)))
	for _, k := range got {
		if k != pec.KindAnomaly {
			t.Fatalf("dave got %v, want anomaly envelopes only", got)
		}
	}
	waitIdle(t, alpha)
	_ = context.Background
}
