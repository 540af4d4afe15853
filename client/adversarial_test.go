package client_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/receipt"
	"github.com/pecsdk/pec/sample"
)

// The adversarial tests feed the tracker genuine receipts that are about
// something else than the message they are made to look like: what a
// provider deposits unchanged in any mailbox (PEC.md §11.2), signed by a
// provider of the index, by a provider that does not manage the recipient,
// or by an ordinary certificate under the same CA. None may change the
// state of Alice's message; each is reported.

// Addresses of the adversarial world beside the sample's.
const (
	advDora    = "dora@" + sample.RecipientDomain      // certified, not a recipient of Alice's message
	advMallory = "mallory@" + sample.SenderDomain      // another sender at Alice's provider
	advThird   = "pec.terzo.example"                   // the domain of a third listed provider
	advMario   = "mario.rossi@posta.example"           // holder of an ordinary e-mail certificate
	advMsgID   = "pratica-7@client.example"            // the Message-ID of Alice's message
	advSvc     = pec.ServiceLocalPart + "@" + advThird // the third provider's service mailbox
)

// advWorld is the sample world with a third provider, listed in the
// index for its own domain only, and an ordinary e-mail certificate issued
// by the same CA as the providers'.
type advWorld struct {
	set   *sample.Set
	third *smime.Signer
	mario *smime.Signer
	idx   *index.Snapshot
	base  time.Time      // dispatch of Alice's message, half an hour ago
	env   *daticert.Data // the transport envelope of Alice's message
}

var (
	advOnce sync.Once
	advW    *advWorld
	advErr  error
)

func adversarialWorld(tb testing.TB) *advWorld {
	tb.Helper()
	advOnce.Do(func() { advW, advErr = newAdvWorld() })
	if advErr != nil {
		tb.Fatal(advErr)
	}
	return advW
}

func newAdvWorld() (*advWorld, error) {
	// Half an hour ago: after the certificates were issued (an hour ago),
	// so that the receipts verify both live and as of their signing time.
	base := time.Now().Add(-30 * time.Minute).Truncate(time.Second)
	set, err := sample.New(base)
	if err != nil {
		return nil, err
	}
	third, _, err := set.PKI.NewProvider("Gestore Terzo S.p.A.", advSvc, nil)
	if err != nil {
		return nil, err
	}
	// An S/MIME certificate of a person has the same profile as a
	// provider's: what makes a provider is the listing in the index.
	mario, _, err := set.PKI.NewProvider("Mario Rossi", advMario, nil)
	if err != nil {
		return nil, err
	}
	entry := func(name, domain string, s *smime.Signer) index.Provider {
		return index.Provider{Name: name, MailReceipt: s.Address(), Domains: []string{domain}, Certificates: []*x509.Certificate{s.Certificate()}}
	}
	idx, err := index.New([]index.Provider{
		entry(sample.SenderProvider, sample.SenderDomain, set.Sender),
		entry(sample.RecipientProvider, sample.RecipientDomain, set.Recipient),
		entry("Gestore Terzo S.p.A.", advThird, third),
	})
	if err != nil {
		return nil, err
	}
	return &advWorld{set: set, third: third, mario: mario, idx: idx, base: base, env: envelopeData(base, sample.Alice, advMsgID, "opec.1.alice@"+sample.SenderDomain)}, nil
}

// envelopeData is the certification data of a message from sender to Bob
// (To) and Carol (Cc, esterno).
func envelopeData(at time.Time, sender, msgid, id string) *daticert.Data {
	d := &daticert.Data{
		Type: pec.CertTransport, Error: pec.ErrorNone,
		Sender: sender, ReplyTo: sender, Subject: "Pratica 7",
		Recipients: []daticert.Recipient{
			{Address: sample.Bob, Type: pec.RecipientCertified},
			{Address: sample.Carol, Type: pec.RecipientExternal},
		},
		Provider: sample.SenderProvider, Time: pec.Local(at), ID: id,
		ReceiptType: pec.ReceiptSummary,
	}
	if msgid != "" {
		d.MsgID = pec.BracketMsgID(msgid)
	}
	return d
}

// sent is Alice's message as the tracker registers it.
func (w *advWorld) sent() client.Sent {
	return client.Sent{MessageID: advMsgID, From: sample.Alice, To: []string{sample.Bob}, Cc: []string{sample.Carol}, Subject: "Pratica 7", Time: w.base}
}

// live verifies against the CA and the index, now.
func (w *advWorld) live() *smime.VerifyOptions {
	return &smime.VerifyOptions{Roots: w.set.PKI.Pool(), Authority: w.idx}
}

// notice is one receipt to build: its kind, the envelope data it is
// about, who signs it, for whom, and what is added outside the signature.
type notice struct {
	kind   pec.Kind
	env    *daticert.Data
	signer *smime.Signer
	rcpt   []string
	header string // header fields prepended to the signed message
}

// build signs the notice, certified minutes after the envelope.
func (w *advWorld) build(tb testing.TB, n notice) []byte {
	tb.Helper()
	env := n.env
	if env == nil {
		env = w.env
	}
	provider := sample.RecipientProvider
	switch n.signer {
	case nil:
		n.signer = w.set.Recipient
	case w.set.Sender:
		provider = sample.SenderProvider
	case w.third:
		provider = "Gestore Terzo S.p.A."
	case w.mario:
		provider = "Mario Rossi"
	}
	var extended string
	var opts receipt.Options
	switch n.kind {
	case pec.KindDeliveryError:
		extended = "5.1.1 - casella inesistente"
	case pec.KindTakeInCharge:
		opts.To = pec.ServiceLocalPart + "@" + sample.SenderDomain
	}
	at := env.Time.Add(time.Duration(len(n.rcpt)+1) * time.Minute)
	if n.kind == pec.KindAcceptance || n.kind == pec.KindNonAcceptance {
		at = env.Time
	}
	d := receipt.NewData(n.kind, env, provider, at, n.rcpt, extended)
	if n.kind == pec.KindDeliveryError {
		d.Error = pec.ErrorNoDest
	}
	var b bytes.Buffer
	if err := receipt.Build(&b, n.kind, d, n.signer, &opts); err != nil {
		tb.Fatalf("%s: %v", n.kind, err)
	}
	return append([]byte(n.header), b.Bytes()...)
}

// advStep is one message given to the tracker, and what Observe must say.
type advStep struct {
	n       notice
	opts    *smime.VerifyOptions // nil: live
	wantErr error                // nil: accepted without error
	adv     bool                 // not evidence about Alice's message: never applied, whatever came before or after
}

// TestAdversarialReceipts: receipts that are genuine, or look genuine, but
// are not evidence about Alice's message are reported and never applied;
// the last step of each case is the adversarial one, and Bob's state must
// be the one the genuine evidence alone supports.
func TestAdversarialReceipts(t *testing.T) {
	w := adversarialWorld(t)
	acc := advStep{n: notice{kind: pec.KindAcceptance, signer: w.set.Sender}}
	// Mallory, at Alice's provider, sent Bob a message under Alice's
	// Message-ID: Bob's provider certified its delivery, genuinely.
	mallory := envelopeData(w.base, advMallory, advMsgID, "opec.2.mallory@"+sample.SenderDomain)
	// Alice's other message, sent by another client without Message-ID:
	// its receipts carry no msgid (PEC.md §9).
	other := envelopeData(w.base, sample.Alice, "", "opec.3.alice@"+sample.SenderDomain)
	// Alice's message as certification data that also lists Dora, who is
	// not among its recipients (a builder refuses a delivery for someone
	// the data does not list).
	withDora := envelopeData(w.base, sample.Alice, advMsgID, w.env.ID)
	withDora.Recipients = append(withDora.Recipients, daticert.Recipient{Address: advDora, Type: pec.RecipientCertified})
	// A message under the same Message-ID with another identificativo.
	forked := envelopeData(w.base, sample.Alice, advMsgID, "opec.4.alice@"+sample.SenderDomain)
	roots := &smime.VerifyOptions{Roots: w.set.PKI.Pool()}
	for _, tc := range []struct {
		name   string
		steps  []advStep
		want   client.State // Bob's state at the end
		wantID string       // Status.ID at the end
	}{
		{"control: genuine delivery", []advStep{acc,
			{n: notice{kind: pec.KindDeliverySummary, rcpt: []string{sample.Bob}}}},
			client.StateDelivered, w.env.ID},
		{"control: genuine presa in carico", []advStep{acc,
			{n: notice{kind: pec.KindTakeInCharge, rcpt: []string{sample.Bob}}}},
			client.StateTakenInCharge, w.env.ID},
		{"(a) another sender's receipt, same msgid", []advStep{acc,
			{n: notice{kind: pec.KindDeliverySummary, env: mallory, rcpt: []string{sample.Bob}}, wantErr: client.ErrMismatch, adv: true}},
			client.StateAccepted, w.env.ID},
		{"(a) another sender's receipt, before the acceptance", []advStep{
			{n: notice{kind: pec.KindDeliverySummary, env: mallory, rcpt: []string{sample.Bob}}, wantErr: client.ErrMismatch, adv: true}},
			client.StateSubmitted, ""},
		{"(b) no msgid, X-Riferimento-Message-ID added", []advStep{acc,
			{n: notice{kind: pec.KindDeliverySummary, env: other, rcpt: []string{sample.Bob},
				header: pec.HeaderReference + ": <" + advMsgID + ">\r\n"}, wantErr: client.ErrUnknownMessage, adv: true}},
			client.StateAccepted, w.env.ID},
		{"(c) delivery for a recipient not of the message", []advStep{
			{n: notice{kind: pec.KindDeliverySummary, env: withDora, rcpt: []string{advDora}}, wantErr: client.ErrUnknownRecipient, adv: true}},
			client.StateSubmitted, ""},
		{"(c) presa in carico covering a recipient not of the message", []advStep{acc,
			{n: notice{kind: pec.KindTakeInCharge, rcpt: []string{sample.Bob, advDora}}, wantErr: client.ErrUnknownRecipient, adv: true}},
			client.StateAccepted, w.env.ID},
		{"(d) delivery signed by a listed provider not managing the recipient", []advStep{acc,
			{n: notice{kind: pec.KindDeliverySummary, signer: w.third, rcpt: []string{sample.Bob}}, wantErr: client.ErrNotEvidence, adv: true}},
			client.StateAccepted, w.env.ID},
		{"(d) non-delivery signed by a listed provider not managing the recipient", []advStep{acc,
			{n: notice{kind: pec.KindDeliveryError, signer: w.third, rcpt: []string{sample.Bob}}, wantErr: client.ErrNotEvidence, adv: true}},
			client.StateAccepted, w.env.ID},
		{"(d) acceptance signed by the recipient's provider", []advStep{
			{n: notice{kind: pec.KindAcceptance, signer: w.set.Recipient}, wantErr: client.ErrNotEvidence, adv: true}},
			client.StateSubmitted, ""},
		{"(d) 24 h notice signed by the recipient's provider", []advStep{acc,
			{n: notice{kind: pec.KindDeliveryTimeout24h, signer: w.set.Recipient, rcpt: []string{sample.Bob}}, wantErr: client.ErrNotEvidence, adv: true}},
			client.StateAccepted, w.env.ID},
		{"control: 24 h notice of the sender's provider", []advStep{acc,
			{n: notice{kind: pec.KindDeliveryTimeout24h, signer: w.set.Sender, rcpt: []string{sample.Bob}}}},
			client.StateTimedOut, w.env.ID},
		{"(e) ordinary certificate under the same CA, roots only", []advStep{acc,
			{n: notice{kind: pec.KindDeliverySummary, signer: w.mario, rcpt: []string{sample.Bob}}, opts: roots, wantErr: client.ErrNotEvidence, adv: true}},
			client.StateAccepted, w.env.ID},
		{"(e) ordinary certificate under the same CA, with the index", []advStep{acc,
			{n: notice{kind: pec.KindDeliverySummary, signer: w.mario, rcpt: []string{sample.Bob}}, wantErr: client.ErrNotEvidence, adv: true}},
			client.StateAccepted, w.env.ID},
		{"(e) genuine receipt judged by roots only", []advStep{acc,
			{n: notice{kind: pec.KindDeliverySummary, rcpt: []string{sample.Bob}}, opts: roots, wantErr: client.ErrNotEvidence, adv: true}},
			client.StateAccepted, w.env.ID},
		{"(f) X-VerificaSicurezza added to a non-delivery", []advStep{acc,
			{n: notice{kind: pec.KindDeliveryError, rcpt: []string{sample.Bob},
				header: pec.HeaderSecurityCheck + ": " + pec.SecurityCheckError + "\r\n"}, wantErr: client.ErrNotEvidence, adv: true}},
			client.StateAccepted, w.env.ID},
		{"(g) identificativo not the acceptance's", []advStep{acc,
			{n: notice{kind: pec.KindDeliverySummary, env: forked, rcpt: []string{sample.Bob}}, wantErr: client.ErrMismatch, adv: true}},
			client.StateAccepted, w.env.ID},
		{"(g) identificativo not the acceptance's, acceptance last", []advStep{
			{n: notice{kind: pec.KindDeliverySummary, env: forked, rcpt: []string{sample.Bob}}, adv: true},
			acc},
			client.StateAccepted, w.env.ID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := client.OpenTracker("", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			if err := tr.Register(w.sent()); err != nil {
				t.Fatal(err)
			}
			digests := make([]string, len(tc.steps))
			for i, s := range tc.steps {
				opts := s.opts
				if opts == nil {
					opts = w.live()
				}
				m, err := client.Classify(bytes.NewReader(w.build(t, s.n)), opts)
				if err != nil {
					t.Fatal(err)
				}
				digests[i] = m.Digest
				_, err = tr.Observe(m)
				if (s.wantErr == nil) != (err == nil) || (s.wantErr != nil && !errors.Is(err, s.wantErr)) {
					t.Errorf("step %d (%s): err = %v, want %v", i, s.n.kind, err, s.wantErr)
				}
			}
			st, ok := tr.Status(advMsgID)
			if !ok {
				t.Fatal("no status")
			}
			bob := st.Recipient(sample.Bob)
			if bob.State != tc.want {
				t.Errorf("bob: %s, want %s (problems %q)", bob.State, tc.want, st.Problems)
			}
			if bob.Error != nil && bob.Error.Code == pec.ErrorVirus {
				t.Errorf("bob: a virus failure %v", bob.Error)
			}
			if st.ID != tc.wantID {
				t.Errorf("ID = %q, want %q: learned from a receipt not about the message", st.ID, tc.wantID)
			}
			applied := map[string]bool{}
			for _, r := range st.Recipients {
				for _, e := range r.Events {
					applied[e.Digest] = true
				}
			}
			var mismatch bool
			for i, s := range tc.steps {
				if want := !s.adv && s.wantErr == nil; applied[digests[i]] != want {
					t.Errorf("step %d (%s): applied = %v, want %v", i, s.n.kind, applied[digests[i]], want)
				}
				mismatch = mismatch || (s.adv && (s.wantErr == nil || errors.Is(s.wantErr, client.ErrMismatch) || errors.Is(s.wantErr, client.ErrUnknownRecipient)))
			}
			// A receipt kept for the message but not applied is reported
			// in its status, as Observe reported it.
			if reported := strings.Contains(fmt.Sprint(st.Problems), "not applied"); reported != mismatch {
				t.Errorf("Problems = %q, reported = %v, want %v", st.Problems, reported, mismatch)
			}
		})
	}
}

// TestAdversarialFetchRootsOnly: a fetch that feeds a tracker with trust
// anchors but no provider index is refused before it connects, since an
// ordinary certificate under the same CA chains to the anchors as well as
// a provider's (case (e) on the fetch side).
func TestAdversarialFetchRootsOnly(t *testing.T) {
	w := adversarialWorld(t)
	tr, err := client.OpenTracker("", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for _, tc := range []struct {
		name   string
		verify *smime.VerifyOptions
	}{
		{"roots only", &smime.VerifyOptions{Roots: w.set.PKI.Pool()}},
		{"roots and intermediates", &smime.VerifyOptions{Roots: w.set.PKI.Pool(), Intermediates: w.set.PKI.Pool()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.Fetch(context.Background(), &client.FetchOptions{
				Server:   client.Endpoint{Host: "127.0.0.1", Port: 1},
				Username: sample.Alice, Dir: t.TempDir(), Tracker: tr, Verify: tc.verify, Timeout: time.Second,
			})
			if !errors.Is(err, client.ErrNoTrust) {
				t.Fatalf("Fetch: %v, want ErrNoTrust", err)
			}
		})
	}
}

// TestAdversarialReplay: receipts kept but not applied stay not applied
// when the store is replayed, and a receipt that matches no message yet is
// not claimed by one it does not match when that one is registered.
func TestAdversarialReplay(t *testing.T) {
	w := adversarialWorld(t)
	mallory := envelopeData(w.base, advMallory, advMsgID, "opec.2.mallory@"+sample.SenderDomain)
	forked := envelopeData(w.base, sample.Alice, advMsgID, "opec.4.alice@"+sample.SenderDomain)
	dir := t.TempDir()
	tr, err := client.OpenTracker(dir, &client.TrackerOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	// Before the registration: kept as receipts of an unknown message.
	for _, n := range []notice{
		{kind: pec.KindDeliverySummary, env: mallory, rcpt: []string{sample.Bob}},
		{kind: pec.KindDeliverySummary, env: forked, rcpt: []string{sample.Bob}},
		{kind: pec.KindAcceptance, signer: w.set.Sender},
	} {
		m, err := client.Classify(bytes.NewReader(w.build(t, n)), w.live())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Observe(m); !errors.Is(err, client.ErrUnknownMessage) {
			t.Fatalf("%s before Register: %v, want ErrUnknownMessage", n.kind, err)
		}
	}
	if err := tr.Register(w.sent()); err != nil {
		t.Fatal(err)
	}
	check := func(tr *client.Tracker, when string) {
		t.Helper()
		st, ok := tr.Status(advMsgID)
		if !ok {
			t.Fatalf("%s: no status", when)
		}
		if got := st.Recipient(sample.Bob).State; got != client.StateAccepted || st.ID != w.env.ID || len(st.Problems) != 2 {
			t.Fatalf("%s: bob %s, ID %q, problems %q; want accepted, %q, two receipts reported", when, got, st.ID, st.Problems, w.env.ID)
		}
	}
	check(tr, "after Register")
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	tr, err = client.OpenTracker(dir, &client.TrackerOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	check(tr, "replayed")
}
