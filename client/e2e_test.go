package client_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/internal/dovecottest"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/sample"
)

// Recipients of the end-to-end tests, one per outcome.
const (
	dave = "dave@" + sample.RecipientDomain // no such mailbox: not delivered
	erin = "erin@" + sample.RecipientDomain // never answers: 24 h timeout
)

// world is a provider in front of a Dovecot.
type world struct {
	set  *sample.Set
	srv  *dovecottest.Server
	prov *dovecottest.Provider
}

func newWorld(t *testing.T) *world {
	t.Helper()
	set, err := sample.New(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := dovecottest.Start(t, &dovecottest.Options{
		Users: map[string]string{sample.Alice: alicePass, sample.Bob: bobPass},
	})
	prov := dovecottest.StartProvider(t, dovecottest.ProviderOptions{
		Dovecot: srv, TLS: srv.TLS.ServerConfig(),
		Sender: set.Sender, Receive: set.Recipient,
		Name: sample.SenderProvider, RName: sample.RecipientProvider,
		Domain: sample.SenderDomain, Managed: []string{sample.SenderDomain, sample.RecipientDomain},
		Outcome:  map[string]pec.Kind{erin: pec.KindDeliveryTimeout24h},
		MaxBytes: 1 << 20,
		// A day behind: the 24 h notice it certifies 23 hours after
		// acceptance is then in the past, as a live verification requires.
		Now: func() time.Time { return time.Now().Add(-24 * time.Hour) },
	})
	return &world{set: set, srv: srv, prov: prov}
}

func (w *world) submitOpts(sec client.Security, auth client.AuthMethod, tr *client.Tracker) *client.SubmitOptions {
	addr := w.prov.SMTPS
	if sec == client.SecurityStartTLS {
		addr = w.prov.SMTP
	}
	return &client.SubmitOptions{
		Server: endpoint(addr, sec), TLSConfig: w.srv.TLS.ClientConfig(),
		Username: sample.Alice, Password: alicePass, Auth: auth,
		Tracker: tr, Timeout: 20 * time.Second,
	}
}

func draft(id string, rt pec.ReceiptType) *client.Draft {
	return &client.Draft{
		From:        "Alice Rossi <" + sample.Alice + ">",
		To:          []string{"Bob Bianchi <" + sample.Bob + ">", dave},
		Cc:          []string{sample.Carol, erin},
		Subject:     "Contratto n. 42 — firmato",
		Text:        "In allegato il contratto.\n.\n..una riga con punti\n",
		Attachments: []client.Attachment{{Name: "contratto.pdf", ContentType: "application/pdf", Content: strings.NewReader("%PDF-1.4\n%%EOF\n")}},
		ReceiptType: rt,
		MessageID:   id,
	}
}

// TestSendFetchStatus sends a PEC to four recipients through the provider,
// fetches the sender's mailbox from Dovecot over IMAP and over POP3, and
// checks the status of every recipient: delivered (with the signed
// receipt), not delivered (with the reason), sent to ordinary mail, timed
// out. A second send of the same Message-ID is refused.
func TestSendFetchStatus(t *testing.T) {
	w := newWorld(t)
	for i, tc := range []struct {
		name  string
		sec   client.Security
		auth  client.AuthMethod
		proto client.Protocol
		rt    pec.ReceiptType
		id    string
	}{
		{"smtps-plain/imap", client.SecurityTLS, client.AuthPlain, client.IMAP, "", ""},
		{"starttls-login/pop3", client.SecurityStartTLS, client.AuthLogin, client.POP3, pec.ReceiptShort, "caller-chosen.1@client.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			tr, err := client.OpenTracker(t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			sub, err := client.Send(ctx, draft(tc.id, tc.rt), w.submitOpts(tc.sec, tc.auth, tr))
			if err != nil {
				t.Fatal(err)
			}
			if tc.id != "" && sub.MessageID != tc.id {
				t.Errorf("Message-ID %q, want the caller's %q", sub.MessageID, tc.id)
			}
			subs := w.prov.Submissions()
			if len(subs) != i+1 {
				t.Fatalf("provider has %d submissions, want %d", len(subs), i+1)
			}
			got := subs[i]
			checkSubmitted(t, got, sub, tc.rt)

			// The same message again: refused, nothing sent.
			_, err = client.Send(ctx, draft(sub.MessageID, tc.rt), w.submitOpts(tc.sec, tc.auth, tr))
			if !errors.Is(err, client.ErrAlreadySent) {
				t.Errorf("second send: %v, want ErrAlreadySent", err)
			}
			if n := len(w.prov.Submissions()); n != i+1 {
				t.Errorf("second send reached the provider (%d submissions)", n)
			}

			opts := fetchOpts(w.srv, tc.proto, client.SecurityTLS, t.TempDir(), w.set)
			opts.Tracker = tr
			res, err := client.Fetch(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			// Acceptance, delivery for Bob, non-delivery for Dave, 24 h
			// notice for Erin; plus those of the earlier subtests, which
			// this tracker does not know.
			if want := 4 * (i + 1); len(res.Messages) != want {
				t.Fatalf("fetched %d messages, want %d", len(res.Messages), want)
			}
			unknown := 0
			for _, fm := range res.Messages {
				if errors.Is(fm.Err, client.ErrUnknownMessage) {
					unknown++
				} else if fm.Err != nil {
					t.Errorf("%s (%v): %v", fm.Path, fm.Message.Kind, fm.Err)
				}
			}
			if unknown != 4*i {
				t.Errorf("%d receipts reported unknown, want %d", unknown, 4*i)
			}
			st, ok := tr.Status(sub.MessageID)
			if !ok {
				t.Fatal("no status")
			}
			want := map[string]client.State{
				sample.Bob: client.StateDelivered, dave: client.StateNotDelivered,
				sample.Carol: client.StateSentToOrdinaryMail, erin: client.StateTimedOut,
			}
			for addr, ws := range want {
				r := st.Recipient(addr)
				if r == nil {
					t.Errorf("%s: no status", addr)
					continue
				}
				if r.State != ws {
					t.Errorf("%s: %v, want %v", addr, r.State, ws)
				}
				if ws != client.StateSentToOrdinaryMail && (r.Evidence == nil || !r.Evidence.Verified) {
					t.Errorf("%s: no verified evidence: %+v", addr, r.Evidence)
				}
			}
			if r := st.Recipient(dave); r != nil && (r.Error == nil || r.Error.Code != pec.ErrorNoDest) {
				t.Errorf("dave: error %+v, want code %s", r.Error, pec.ErrorNoDest)
			}
			wantKind := pec.DeliveryKind(tc.rt, false)
			if r := st.Recipient(sample.Bob); r != nil && r.Evidence != nil && r.Evidence.Kind != wantKind {
				t.Errorf("bob: evidence %v, want %v", r.Evidence.Kind, wantKind)
			}
			if !st.Final() {
				t.Errorf("status not final: %+v", st.Recipients)
			}
			if n := w.srv.Count(sample.Bob); n != i+1 {
				t.Errorf("bob's mailbox holds %d envelopes, want %d", n, i+1)
			}
		})
	}
}

// checkSubmitted checks what reached the provider: MAIL FROM the
// authenticated mailbox, RCPT TO exactly To ∪ Cc, one From, no Bcc, the
// Message-ID returned, X-TipoRicevuta as asked.
func checkSubmitted(t *testing.T, got dovecottest.Submission, sub *client.Submission, rt pec.ReceiptType) {
	t.Helper()
	if got.From != sample.Alice || got.User != sample.Alice {
		t.Errorf("MAIL FROM %q as %q", got.From, got.User)
	}
	if strings.Join(got.Rcpt, ",") != strings.Join([]string{sample.Bob, dave, sample.Carol, erin}, ",") {
		t.Errorf("RCPT TO %v", got.Rcpt)
	}
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(got.Data))).ReadMIMEHeader()
	if err != nil {
		t.Fatal(err)
	}
	if len(h["From"]) != 1 || len(h["Bcc"]) != 0 {
		t.Errorf("From %v, Bcc %v", h["From"], h["Bcc"])
	}
	if pec.NormalizeMsgID(h.Get("Message-Id")) != sub.MessageID {
		t.Errorf("Message-ID %q, Send returned %q", h.Get("Message-Id"), sub.MessageID)
	}
	if got := h.Get(pec.HeaderReceiptType); got != string(rt) {
		t.Errorf("X-TipoRicevuta %q, want %q", got, rt)
	}
	if got.Envelope.MsgID != "<"+sub.MessageID+">" {
		t.Errorf("daticert msgid %q", got.Envelope.MsgID)
	}
}

// TestSendRefusedAtData: a message the provider refuses at the end of DATA
// is a *SendError that is not uncertain; since it was never sent, the
// tracker withdraws it, and the same Message-ID may be sent again (here
// refused again by the provider, not by the tracker).
func TestSendRefusedAtData(t *testing.T) {
	set, err := sample.New(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := dovecottest.Start(t, &dovecottest.Options{Users: map[string]string{sample.Alice: alicePass}})
	prov := dovecottest.StartProvider(t, dovecottest.ProviderOptions{
		Dovecot: srv, TLS: srv.TLS.ServerConfig(), Sender: set.Sender, Receive: set.Recipient,
		Name: sample.SenderProvider, RName: sample.RecipientProvider, Domain: sample.SenderDomain,
		Refuse: func([]byte) error { return errors.New("virus found") },
	})
	w := &world{set: set, srv: srv, prov: prov}
	tr, _ := client.OpenTracker("", nil)
	ctx := context.Background()
	_, err = client.Send(ctx, draft("refused.1@client.example", ""), w.submitOpts(client.SecurityTLS, "", tr))
	var se *client.SendError
	if !errors.As(err, &se) || se.Uncertain || se.MessageID != "refused.1@client.example" || !strings.Contains(err.Error(), "virus found") {
		t.Fatalf("%v: want a certain *SendError", err)
	}
	if _, ok := tr.Status("refused.1@client.example"); ok {
		t.Error("the refused message is still registered")
	}
	_, err = client.Send(ctx, draft("refused.1@client.example", ""), w.submitOpts(client.SecurityTLS, "", tr))
	if errors.Is(err, client.ErrAlreadySent) || !errors.As(err, &se) || se.Uncertain {
		t.Errorf("second send: %v, want the provider's refusal again", err)
	}
	if srv.Count(sample.Alice) != 0 {
		t.Error("receipts for a refused message")
	}
}
