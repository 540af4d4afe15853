package imap

import (
	"context"
	"testing"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/pecsdk/pec/provider/mailbox"
)

// TestEnvelopeCache: ENVELOPE asked again gives the same, and the same
// UID in another folder or mailbox store is not taken for it.
func TestEnvelopeCache(t *testing.T) {
	f := start(t, nil, nil)
	f.deliver(t, mailbox.Inbox, "Subject: primo\r\n\r\nx", "Subject: secondo\r\n\r\ny")
	if err := f.box(t).CreateFolder(context.Background(), "Pratiche"); err != nil {
		t.Fatal(err)
	}
	f.deliver(t, "Pratiche", "Subject: terzo\r\n\r\nz")
	c := f.login(t, nil)
	subjects := func(folder string) []string {
		t.Helper()
		if _, err := c.Select(folder, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		msgs, err := c.Fetch(goimap.SeqSet{{Start: 1, Stop: 0}}, &goimap.FetchOptions{Envelope: true}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range msgs {
			out = append(out, m.Envelope.Subject)
		}
		return out
	}
	for _, tc := range []struct {
		folder string
		want   []string
	}{
		{"INBOX", []string{"primo", "secondo"}},
		{"INBOX", []string{"primo", "secondo"}},
		{"Pratiche", []string{"terzo"}},
		{"Pratiche", []string{"terzo"}},
	} {
		if got := subjects(tc.folder); len(got) != len(tc.want) || got[0] != tc.want[0] || got[len(got)-1] != tc.want[len(tc.want)-1] {
			t.Errorf("%s: subjects %q, want %q", tc.folder, got, tc.want)
		}
	}
}

// TestEnvelopeCacheBound: the cache forgets entries past its bound.
func TestEnvelopeCacheBound(t *testing.T) {
	var c envCache
	env := &goimap.Envelope{Subject: "s"}
	for i := range envCacheMax + 10 {
		c.put(envKey{user: "u", folder: "INBOX", validity: 1, uid: uint32(i + 1), size: 1}, env)
	}
	if n := len(c.m); n > envCacheMax || n < envCacheMax*7/8 {
		t.Errorf("%d entries after %d puts, bound %d", n, envCacheMax+10, envCacheMax)
	}
	if c.get(envKey{user: "u", folder: "INBOX", validity: 1, uid: envCacheMax + 10, size: 1}) != env {
		t.Error("the last entry put is not found")
	}
	if c.get(envKey{user: "u", folder: "INBOX", validity: 2, uid: envCacheMax + 10, size: 1}) != nil {
		t.Error("found under another UIDVALIDITY")
	}
}
