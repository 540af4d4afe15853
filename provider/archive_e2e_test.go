package provider_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pecmail"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
)

// TestArchiveKeepsExchange: after a real exchange between two on-disk
// providers, each holder's Archive holds every certified message and
// receipt of it — bob the transport envelope, alice her sent copy, the
// acceptance and the delivery receipt —, byte for byte what INBOX and
// Sent hold; emptying INBOX and Sent leaves Archive as it was, and
// Archive refuses to lose anything.
func TestArchiveKeepsExchange(t *testing.T) {
	n := providertest.NewNetwork(t, &providertest.Options{Durable: true})
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	send(t, n, alpha, "a-pass", &client.Draft{From: alice, To: []string{bob}, Subject: "Da archiviare", Text: "Testo.\n"})
	inbox := waitMessages(t, alpha, alice, mailbox.Inbox, 2)
	kinds := map[pec.Kind]bool{}
	for _, r := range receipts(t, n, inbox) {
		kinds[r.Kind] = true
	}
	if !kinds[pec.KindAcceptance] || !kinds[pec.KindDelivery] {
		t.Fatalf("alice's INBOX: %v", kinds)
	}
	waitMessages(t, beta, bob, mailbox.Inbox, 1)

	ctx := context.Background()
	for _, h := range []struct {
		p       *providertest.Provider
		user    string
		folders []string
		want    []pec.Kind
	}{
		{beta, bob, []string{mailbox.Inbox}, []pec.Kind{pec.KindTransport}},
		{alpha, alice, []string{mailbox.Inbox, mailbox.Sent}, []pec.Kind{pec.KindAcceptance, pec.KindDelivery}},
	} {
		var kept [][]byte
		for _, f := range h.folders {
			msgs, err := h.p.Messages(h.user, f)
			if err != nil {
				t.Fatal(err)
			}
			kept = append(kept, msgs...)
		}
		archived := waitMessages(t, h.p, h.user, mailbox.Archive, len(kept))
		if !sameSet(kept, archived) {
			t.Fatalf("%s: Archive holds %d messages that are not those of %v (%d)", h.user, len(archived), h.folders, len(kept))
		}
		for _, k := range h.want {
			found := false
			for _, m := range archived {
				r, err := pecmail.Read(bytes.NewReader(m), n.VerifyOptions())
				found = found || err == nil && r.Kind == k && r.OK()
			}
			if !found {
				t.Errorf("%s: no verified %s in Archive", h.user, k)
			}
		}
		mb, err := h.p.Store.Mailbox(ctx, h.user)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range h.folders {
			fd, err := mb.List(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var uids []uint32
			for _, m := range fd.Messages {
				uids = append(uids, m.UID)
			}
			if err := mb.Expunge(ctx, f, uids); err != nil {
				t.Fatal(err)
			}
		}
		fd, err := mb.List(ctx, mailbox.Archive)
		if err != nil {
			t.Fatal(err)
		}
		if err := mb.Expunge(ctx, mailbox.Archive, []uint32{fd.Messages[0].UID}); !errors.Is(err, mailbox.ErrReadOnly) {
			t.Errorf("%s: Expunge in Archive: %v, want ErrReadOnly", h.user, err)
		}
		after, err := h.p.Messages(h.user, mailbox.Archive)
		if err != nil {
			t.Fatal(err)
		}
		if !sameSet(archived, after) {
			t.Errorf("%s: Archive changed when %v were emptied", h.user, h.folders)
		}
	}
}

// sameSet reports whether a and b hold the same messages, in any order.
func sameSet(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[string]int{}
	for _, m := range a {
		count[string(m)]++
	}
	for _, m := range b {
		count[string(m)]--
	}
	for _, c := range count {
		if c != 0 {
			return false
		}
	}
	return true
}
