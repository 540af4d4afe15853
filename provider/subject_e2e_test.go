package provider_test

import (
	"slices"
	"testing"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
)

// TestSubjectForms sends certified messages whose subjects a header
// writes otherwise than daticert.xml — empty (the envelope's Subject line
// then ends with the prefix's colon), accented, long enough to be folded
// and encoded — between two providers: each arrives as a transport
// envelope that is OK, never wrapped as an anomaly, and each receipt is OK.
func TestSubjectForms(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	subjects := []string{"", "Verità sull'attività – è così", "Fattura n. 42 del mese di novembre, con gli allegati richiesti e la nota di credito relativa al precedente ordine"}
	for _, s := range subjects {
		send(t, n, alpha, "a-pass", &client.Draft{From: alice, To: []string{bob}, Subject: s, Text: "Ciao Bob."})
	}
	got := kinds(t, n, waitMessages(t, beta, bob, mailbox.Inbox, len(subjects)))
	if want := []pec.Kind{pec.KindTransport, pec.KindTransport, pec.KindTransport}; !slices.Equal(got, want) {
		t.Fatalf("bob got %v, want %v", got, want)
	}
	got = kinds(t, n, waitMessages(t, alpha, alice, mailbox.Inbox, 2*len(subjects)))
	slices.Sort(got)
	if want := []pec.Kind{pec.KindAcceptance, pec.KindAcceptance, pec.KindAcceptance, pec.KindDelivery, pec.KindDelivery, pec.KindDelivery}; !slices.Equal(got, want) {
		t.Fatalf("alice got %v, want %v", got, want)
	}
}
