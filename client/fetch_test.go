package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/sample"
)

// TestFetchSeeded fetches the sample set and the corpus from Dovecot over
// IMAP and POP3, each with implicit TLS and with STARTTLS / STLS: every
// message arrives once, byte for byte, classified as seeded; a second pass
// fetches nothing; a message delivered later is the only one the third
// pass fetches; the tracker ends with the right state for each recipient.
func TestFetchSeeded(t *testing.T) {
	set, msgs := seedSet(t)
	srv := startSeeded(t, msgs)
	byDigest := map[string]seededMsg{}
	for _, m := range msgs {
		byDigest[crlfDigest(m.data)] = m
	}
	for _, tc := range []struct {
		proto client.Protocol
		sec   client.Security
		auth  client.AuthMethod
	}{
		{client.IMAP, client.SecurityTLS, ""},
		{client.IMAP, client.SecurityStartTLS, client.AuthPassword},
		{client.POP3, client.SecurityTLS, ""},
		{client.POP3, client.SecurityStartTLS, client.AuthPassword},
	} {
		seeded := len(byDigest) // the sample, the corpus, and the extras of the subtests before
		t.Run(fmt.Sprintf("%s-%s-%s", tc.proto, tc.sec, tc.auth), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			dir := t.TempDir()
			tr, err := client.OpenTracker(t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			if err := tr.Register(client.Sent{
				MessageID: set.Envelope.MsgID, From: sample.Alice,
				To: []string{sample.Bob}, Cc: []string{sample.Carol},
				Subject: set.Envelope.Subject, Time: set.Envelope.Time,
			}); err != nil {
				t.Fatal(err)
			}
			opts := fetchOpts(srv, tc.proto, tc.sec, dir, set)
			opts.Auth = tc.auth
			opts.Tracker = tr
			var progress []client.Progress
			opts.Progress = func(p client.Progress) { progress = append(progress, p) }
			res, err := client.Fetch(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Messages) != seeded || res.New != seeded {
				t.Fatalf("fetched %d (%d new), want %d", len(res.Messages), res.New, seeded)
			}
			if len(progress) != seeded || progress[len(progress)-1].Done != seeded || progress[0].Total != seeded {
				t.Errorf("progress: %d calls, last %+v", len(progress), progress[len(progress)-1])
			}
			got := map[string]bool{}
			for _, fm := range res.Messages {
				b, err := os.ReadFile(fm.Path)
				if err != nil {
					t.Fatal(err)
				}
				d := crlfDigest(b)
				want, ok := byDigest[d]
				if !ok {
					t.Errorf("%s: bytes not among the seeded messages", fm.Path)
					continue
				}
				if got[d] {
					t.Errorf("%s fetched twice", want.name)
				}
				got[d] = true
				if fm.Message.Kind != want.kind {
					t.Errorf("%s: kind %v, want %v (problems %v)", want.name, fm.Message.Kind, want.kind, fm.Message.Problems)
				}
				if len(want.name) > 7 && want.name[:7] == "sample:" {
					v := fm.Message.Signature
					if v == nil || v.Trusted == nil || !*v.Trusted {
						t.Errorf("%s: signature not trusted: %+v", want.name, v)
					}
					if fm.Message.Receipt != nil && fm.Err != nil {
						t.Errorf("%s: tracker: %v", want.name, fm.Err)
					}
				} else if fm.Message.Receipt != nil && !errors.Is(fm.Err, client.ErrUnknownMessage) && !errors.Is(fm.Err, client.ErrNotEvidence) {
					t.Errorf("%s: a receipt of a message not sent here: err %v", want.name, fm.Err)
				}
			}
			st, ok := tr.Status(set.Envelope.MsgID)
			if !ok {
				t.Fatal("no status")
			}
			if r := st.Recipient(sample.Bob); r == nil || r.State != client.StateDelivered {
				t.Errorf("%s: %+v, want delivered", sample.Bob, r)
			}
			// The same table as from the seeded bytes themselves.
			ref := referenceStatus(t, set, msgs)
			for _, want := range ref.Recipients {
				r := st.Recipient(want.Address)
				if r == nil || r.State != want.State || r.Evidence == nil || r.Evidence.Digest != want.Evidence.Digest {
					t.Errorf("%s: %+v, want %+v", want.Address, r, want)
				}
			}

			// Again: nothing new.
			res, err = client.Fetch(ctx, opts)
			if err != nil || len(res.Messages) != 0 {
				t.Fatalf("second pass: %d messages, err %v", len(res.Messages), err)
			}
			// One more message arrives: only it is fetched.
			extra := []byte("From: x@example.test\r\nTo: " + sample.Alice + "\r\nSubject: later " + string(tc.proto) + string(tc.sec) + "\r\nMessage-ID: <later-" + string(tc.proto) + string(tc.sec) + "@example.test>\r\n\r\nplain mail\r\n")
			if err := srv.Deliver(sample.Alice, extra); err != nil {
				t.Fatal(err)
			}
			res, err = client.Fetch(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Messages) != 1 || res.New != 1 {
				t.Fatalf("third pass: %d messages (%d new), want 1", len(res.Messages), res.New)
			}
			fm := res.Messages[0]
			if fm.Message.Kind != pec.KindUnknown || !errors.Is(fm.Err, pec.ErrNotPEC) {
				t.Errorf("ordinary mail: kind %v, err %v", fm.Message.Kind, fm.Err)
			}
			byDigest[crlfDigest(extra)] = seededMsg{name: "extra " + string(tc.proto), kind: pec.KindUnknown, data: extra}
			if n := len(emlFiles(t, dir)); n != seeded+1 {
				t.Errorf("%d files in the folder, want %d", n, seeded+1)
			}
		})
	}
}

// referenceStatus feeds the seeded messages, read from memory, to a new
// tracker, and returns the status of the sample message.
func referenceStatus(t *testing.T, set *sample.Set, msgs []seededMsg) *client.Status {
	t.Helper()
	tr, err := client.OpenTracker("", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Register(client.Sent{
		MessageID: set.Envelope.MsgID, From: sample.Alice,
		To: []string{sample.Bob}, Cc: []string{sample.Carol},
		Subject: set.Envelope.Subject, Time: set.Envelope.Time,
	}); err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		cm, err := client.Classify(bytes.NewReader(m.data), liveOpts(set))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = tr.Observe(cm)
	}
	st, ok := tr.Status(set.Envelope.MsgID)
	if !ok {
		t.Fatal("reference: no status")
	}
	return st
}

// TestUIDValidityChange: when the mailbox's UIDVALIDITY is not the one the
// state holds (the server renumbered its UIDs), the old UIDs mean nothing:
// the whole mailbox is fetched again, and the folder, which knows each
// message by its bytes, stores none of them twice.
func TestUIDValidityChange(t *testing.T) {
	set, msgs := seedSet(t)
	msgs = msgs[:5]
	srv := startSeeded(t, msgs)
	dir := t.TempDir()
	o := fetchOpts(srv, client.IMAP, client.SecurityTLS, dir, set)
	ctx := context.Background()
	if res, err := client.Fetch(ctx, o); err != nil || res.New != len(msgs) {
		t.Fatalf("first fetch: %v", err)
	}
	// Make the state speak of another UIDVALIDITY.
	p := filepath.Join(dir, client.StateFile)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Version  int                                   `json:"version"`
		Accounts map[string]map[string]json.RawMessage `json:"accounts"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	for _, a := range st.Accounts {
		a["uidValidity"] = json.RawMessage("1")
	}
	b, _ = json.Marshal(st)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := client.Fetch(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Messages) != len(msgs) || res.New != 0 {
		t.Errorf("after the change: %d fetched, %d new; want %d and 0", len(res.Messages), res.New, len(msgs))
	}
	if n := len(emlFiles(t, dir)); n != len(msgs) {
		t.Errorf("%d files, want %d", n, len(msgs))
	}
	if res, err := client.Fetch(ctx, o); err != nil || len(res.Messages) != 0 {
		t.Errorf("third fetch: %d messages, %v", len(res.Messages), err)
	}
}
