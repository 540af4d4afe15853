package provider_test

import (
	"context"
	"slices"
	"testing"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/provider"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
)

const eicar = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

type blind struct{}

func (blind) Scan(context.Context, []byte) (string, error) { return "", nil }

func TestVirusAtAccessPoint(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	send(t, n, alpha, "a-pass", &client.Draft{From: alice, To: []string{bob}, Subject: "Virus", Text: eicar})
	waitIdle(t, alpha)
	rs := receipts(t, n, waitMessages(t, alpha, alice, mailbox.Inbox, 1))
	if len(rs) != 1 || rs[0].Kind != pec.KindNonAcceptanceVirus || !rs[0].OK() {
		t.Fatalf("alice got %d messages, first %v", len(rs), rs[0].Kind)
	}
	waitIdle(t, beta)
	if msgs, _ := beta.Messages(bob, mailbox.Inbox); len(msgs) != 0 {
		t.Fatalf("bob got %d messages", len(msgs))
	}
}

func TestVirusAtIncomingPoint(t *testing.T) {
	n := providertest.NewNetwork(t, &providertest.Options{Configure: func(name string, c *provider.Config) {
		if name == "alpha" {
			c.Scanner = blind{} // alpha's scanner misses it (PEC.md §6.9)
		}
	}})
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	send(t, n, alpha, "a-pass", &client.Draft{From: alice, To: []string{bob}, Subject: "Virus", Text: eicar})
	got := kinds(t, n, waitMessages(t, alpha, alice, mailbox.Inbox, 2))
	slices.Sort(got)
	if want := []pec.Kind{pec.KindAcceptance, pec.KindDeliveryErrorVirus}; !slices.Equal(got, want) {
		t.Fatalf("alice got %v, want %v", got, want)
	}
	svc := kinds(t, n, waitMessages(t, alpha, alpha.MailReceipt, mailbox.Inbox, 2))
	slices.Sort(svc)
	if want := []pec.Kind{pec.KindTakeInCharge, pec.KindVirusDetected}; !slices.Equal(svc, want) {
		t.Fatalf("alpha's service mailbox got %v, want %v", svc, want)
	}
	waitIdle(t, alpha)
	waitIdle(t, beta)
	if msgs, _ := beta.Messages(bob, mailbox.Inbox); len(msgs) != 0 {
		t.Fatalf("bob got %d messages", len(msgs))
	}
}
