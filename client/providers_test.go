package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/internal/dovecottest/pecnet"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/sample"
)

// TestSendThroughProviders sends a PEC through the providers of package
// provider, which deliver into a real Dovecot, fetches the sender's mailbox
// from Dovecot over IMAP and over POP3, and checks every recipient's
// status: delivered, not delivered (no such mailbox), timed out (its
// provider never answers: the 12 h and 24 h notices, with short limits).
func TestSendThroughProviders(t *testing.T) {
	w := pecnet.Start(t, &pecnet.Options{
		Users:  map[string]string{sample.Alice: alicePass, sample.Bob: bobPass},
		Silent: []string{"silente"},
	})
	const (
		dave = "dave@" + sample.RecipientDomain // no such mailbox
		erin = "erin@pec.silente.example"       // its provider never answers
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	tr, err := client.OpenTracker(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	sub, err := client.Send(ctx, &client.Draft{
		From: sample.Alice, To: []string{sample.Bob, dave}, Cc: []string{erin},
		Subject: "Contratto n. 43", Text: "Testo.\n",
	}, &client.SubmitOptions{
		Server: endpoint(w.Provider("mittente").Submission, client.SecurityTLS), TLSConfig: w.Net.ClientTLS(),
		Username: sample.Alice, Password: alicePass, Auth: client.AuthPlain, Tracker: tr, Timeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Acceptance, delivery receipt, non-delivery, 12 h and 24 h notices.
	const want = 5
	for w.Dovecot.Count(sample.Alice) < want {
		select {
		case <-ctx.Done():
			t.Fatalf("alice has %d messages in Dovecot, want %d", w.Dovecot.Count(sample.Alice), want)
		case <-time.After(200 * time.Millisecond):
		}
	}
	// Once the notices are in, the providers are done with alice's mailbox.
	if err := w.Dovecot.Own(sample.Alice); err != nil {
		t.Fatal(err)
	}
	for _, proto := range []client.Protocol{client.IMAP, client.POP3} {
		t.Run(string(proto), func(t *testing.T) {
			addr := map[client.Protocol]string{client.IMAP: w.Dovecot.IMAPS, client.POP3: w.Dovecot.POP3S}[proto]
			res, err := client.Fetch(ctx, &client.FetchOptions{
				Protocol: proto, Server: endpoint(addr, client.SecurityTLS), TLSConfig: w.Dovecot.TLS.ClientConfig(),
				Username: sample.Alice, Password: alicePass, Dir: t.TempDir(),
				Verify: w.Net.VerifyOptions(), Tracker: tr, Timeout: 20 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Messages) != want {
				t.Fatalf("fetched %d messages, want %d", len(res.Messages), want)
			}
			for _, fm := range res.Messages {
				if fm.Err != nil {
					t.Errorf("%s (%v): %v", fm.Path, fm.Message.Kind, fm.Err)
				}
			}
			st, ok := tr.Status(sub.MessageID)
			if !ok {
				t.Fatal("no status")
			}
			for addr, ws := range map[string]client.State{
				sample.Bob: client.StateDelivered, dave: client.StateNotDelivered, erin: client.StateTimedOut,
			} {
				r := st.Recipient(addr)
				switch {
				case r == nil:
					t.Errorf("%s: no status", addr)
				case r.State != ws:
					t.Errorf("%s: %v, want %v", addr, r.State, ws)
				case r.Evidence == nil || !r.Evidence.Verified:
					t.Errorf("%s: no verified evidence: %+v", addr, r.Evidence)
				}
			}
			if r := st.Recipient(dave); r != nil && (r.Error == nil || r.Error.Code != pec.ErrorNoDest) {
				t.Errorf("dave: error %+v, want code %s", r.Error, pec.ErrorNoDest)
			}
			if !st.Final() {
				t.Errorf("status not final: %+v", st.Recipients)
			}
		})
	}
	if n := w.Dovecot.Count(sample.Bob); n != 1 {
		t.Errorf("bob's mailbox holds %d messages, want the envelope", n)
	}
}
