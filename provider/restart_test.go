package provider_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync/atomic"
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

// stuck is a Router that never answers until its context ends: the relay
// of the first run hangs after the acceptance and the envelope are done.
type stuck struct{ reached chan struct{} }

func (s *stuck) Route(ctx context.Context, _ string) ([]string, error) {
	select {
	case s.reached <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestRestartFinishesWithoutDuplicates(t *testing.T) {
	var runs atomic.Int32
	s := &stuck{reached: make(chan struct{}, 1)}
	n := providertest.NewNetwork(t, &providertest.Options{Durable: true, Configure: func(name string, c *provider.Config) {
		if name == "alpha" && runs.Add(1) == 1 {
			c.Router = s
		}
	}})
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	send(t, n, alpha, "a-pass", &client.Draft{From: alice, To: []string{bob}, Subject: "Riavvio", Text: "Dopo il 250."})
	<-s.reached // acceptance and envelope made, relay under way
	before := waitMessages(t, alpha, alice, mailbox.Inbox, 1)
	if err := alpha.Restart(); err != nil {
		t.Fatal(err)
	}

	msgs := waitMessages(t, alpha, alice, mailbox.Inbox, 2)
	waitIdle(t, alpha)
	waitIdle(t, beta)
	msgs, _ = alpha.Messages(alice, mailbox.Inbox)
	got := kinds(t, n, msgs)
	slices.Sort(got)
	if want := []pec.Kind{pec.KindAcceptance, pec.KindDelivery}; !slices.Equal(got, want) {
		t.Fatalf("alice got %v, want %v", got, want)
	}
	if !bytes.Equal(before[0], msgs[0]) {
		t.Error("the acceptance changed across the restart")
	}
	bm, _ := beta.Messages(bob, mailbox.Inbox)
	if len(bm) != 1 {
		t.Fatalf("bob has %d messages", len(bm))
	}
	acc, _ := receipt.Parse(bytes.NewReader(before[0]), nil)
	env, err := envelope.Parse(bytes.NewReader(bm[0]), n.VerifyOptions())
	if err != nil || !env.OK() || env.Data.ID != acc.Data.ID {
		t.Fatalf("bob's envelope: %v, OK %v, id %q want %q", err, env != nil && env.OK(), env.Data.ID, acc.Data.ID)
	}
	if sent, _ := alpha.Messages(alice, mailbox.Sent); len(sent) != 1 {
		t.Errorf("alice's Sent holds %d messages", len(sent))
	}
}

// Restarts at any moment after the 250 never make a second, different
// receipt for one event: every copy of a kind in a mailbox is the same
// signed bytes (a crash between a deposit and its record repeats it), and
// every message ends up delivered.
func TestRestartAnyMoment(t *testing.T) {
	n := providertest.NewNetwork(t, &providertest.Options{Durable: true})
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	for i, delay := range []time.Duration{0, 5 * time.Millisecond, 20 * time.Millisecond, 60 * time.Millisecond} {
		bob := beta.AddUser(fmt.Sprintf("bob%d", i), "b-pass")
		send(t, n, alpha, "a-pass", &client.Draft{From: alice, To: []string{bob}, Subject: fmt.Sprintf("Riavvio %d", i), Text: "x"})
		time.Sleep(delay)
		if err := alpha.Restart(); err != nil {
			t.Fatal(err)
		}
		if err := beta.Restart(); err != nil {
			t.Fatal(err)
		}
		waitMessages(t, beta, bob, mailbox.Inbox, 1)
	}
	waitMessages(t, alpha, alice, mailbox.Inbox, 8)
	waitIdle(t, alpha)
	waitIdle(t, beta)
	msgs, _ := alpha.Messages(alice, mailbox.Inbox)
	seen := map[string][]byte{} // kind and identificativo → bytes
	for _, r := range msgs {
		rc, err := receipt.Parse(bytes.NewReader(r), n.VerifyOptions())
		if err != nil || !rc.OK() {
			t.Fatalf("not a trusted receipt: %v", err)
		}
		key := rc.Kind.String() + " " + rc.Data.ID
		if prev, ok := seen[key]; ok && !bytes.Equal(prev, r) {
			t.Errorf("two different %s", key)
		}
		seen[key] = r
	}
	if len(seen) != 8 {
		t.Errorf("%d distinct receipts, want an acceptance and a delivery for each of 4 messages", len(seen))
	}
}
