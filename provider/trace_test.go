package provider_test

import (
	"context"
	"crypto/x509"
	"slices"
	"testing"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/provider"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
	"github.com/pecsdk/pec/trace"
)

// The trace of each provider holds the events of PEC.md §14 for its part,
// chained and sealed.
func TestTrace(t *testing.T) {
	n := providertest.NewNetwork(t, &providertest.Options{Configure: func(_ string, c *provider.Config) {
		c.SealInterval = 50 * time.Millisecond
	}})
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	send(t, n, alpha, "a-pass", &client.Draft{From: alice, To: []string{bob}, Subject: "Traccia", Text: "x"})
	waitMessages(t, alpha, alice, mailbox.Inbox, 2)
	waitIdle(t, alpha)
	waitIdle(t, beta)
	time.Sleep(200 * time.Millisecond) // a seal or two
	ctx := context.Background()
	events := func(p *providertest.Provider) []trace.Event {
		recs, err := p.Trace.Query(ctx, trace.Query{})
		if err != nil {
			t.Fatal(err)
		}
		var ev []trace.Event
		for _, r := range recs {
			ev = append(ev, r.Event)
		}
		rep, err := trace.Verify(ctx, p.Trace, &trace.VerifyOptions{Certificates: []*x509.Certificate{p.Signer.Certificate()}})
		if err != nil || !rep.OK() {
			t.Fatalf("%s: trace does not verify: %v %v", p.Name, err, rep.Err())
		}
		if rep.Seals == 0 {
			t.Errorf("%s: no seal", p.Name)
		}
		return ev
	}
	a := events(alpha)
	for _, e := range []trace.Event{trace.EventAcceptance, trace.EventTransport, trace.EventReceived} {
		if !slices.Contains(a, e) {
			t.Errorf("alpha's trace %v lacks %v", a, e)
		}
	}
	b := events(beta)
	for _, e := range []trace.Event{trace.EventTakenInCharge, trace.EventDelivery, trace.EventDelivered} {
		if !slices.Contains(b, e) {
			t.Errorf("beta's trace %v lacks %v", b, e)
		}
	}
	// A lost receipt is re-issued byte for byte from the trace.
	msgs, _ := alpha.Messages(alice, mailbox.Inbox)
	for _, m := range msgs {
		rs := receipts(t, n, [][]byte{m})
		id := rs[0].Header.Get("Message-Id")
		var src *providertest.Provider = alpha
		if rs[0].Kind.IsDelivery() {
			src = beta
		}
		got, err := src.Trace.Reissue(ctx, id)
		if err != nil || string(got) != string(m) {
			t.Errorf("reissue %v %s: %v, same bytes %v", rs[0].Kind, id, err, string(got) == string(m))
		}
	}
}

// Shutdown lets the work under way finish.
func TestShutdown(t *testing.T) {
	n := providertest.NewNetwork(t, &providertest.Options{Durable: true})
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	send(t, n, alpha, "a-pass", &client.Draft{From: alice, To: []string{bob}, Subject: "Fine", Text: "x"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := alpha.Server.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := alpha.Restart(); err != nil {
		t.Fatal(err)
	}
	got := kinds(t, n, waitMessages(t, alpha, alice, mailbox.Inbox, 2))
	if len(got) != 2 {
		t.Fatalf("alice got %v", got)
	}
	waitIdle(t, alpha)
	if msgs, _ := alpha.Messages(alice, mailbox.Inbox); len(msgs) != 2 {
		t.Fatalf("alice has %d messages after the restart", len(msgs))
	}
}
