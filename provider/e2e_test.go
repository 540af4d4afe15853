package provider_test

import (
	"slices"
	"testing"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
)

func TestAcrossProviders(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	send(t, n, alpha, "a-pass", &client.Draft{From: alice, To: []string{bob}, Subject: "Prova", Text: "Ciao Bob."})

	got := kinds(t, n, waitMessages(t, alpha, alice, mailbox.Inbox, 2))
	slices.Sort(got)
	if want := []pec.Kind{pec.KindAcceptance, pec.KindDelivery}; !slices.Equal(got, want) {
		t.Fatalf("alice got %v, want %v", got, want)
	}
	if got := kinds(t, n, waitMessages(t, beta, bob, mailbox.Inbox, 1)); !slices.Equal(got, []pec.Kind{pec.KindTransport}) {
		t.Fatalf("bob got %v", got)
	}
	if got := kinds(t, n, waitMessages(t, alpha, alpha.MailReceipt, mailbox.Inbox, 1)); !slices.Equal(got, []pec.Kind{pec.KindTakeInCharge}) {
		t.Fatalf("alpha's service mailbox got %v", got)
	}
	waitMessages(t, alpha, alice, mailbox.Sent, 1)
}
