package client

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/pectest"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/sample"
)

// Recipients of the scenarios: certified ones at the recipient's provider,
// an external one.
var (
	bob   = "bob@" + sample.RecipientDomain
	dora  = "dora@" + sample.RecipientDomain
	carol = sample.Carol // esterno
	alice = sample.Alice // the sender
)

// step is one receipt of a scenario.
type step struct {
	kind  pec.Kind
	after time.Duration
	rcpt  []string
}

func acc() step { return step{kind: pec.KindAcceptance} }
func at(k pec.Kind, h float64, r ...string) step {
	return step{kind: k, after: time.Duration(h * float64(time.Hour)), rcpt: r}
}

// TestTrackerScenarios follows the sequences of PEC.md §15.4 and §10.3 one
// message at a time, in their natural order.
func TestTrackerScenarios(t *testing.T) {
	tests := []struct {
		name   string
		to, cc []string
		steps  []step
		want   map[string]State
		final  bool
	}{
		{"no receipt yet", []string{bob}, nil, nil,
			map[string]State{bob: StateSubmitted}, false},
		{"accepted", []string{bob}, nil, []step{acc()},
			map[string]State{bob: StateAccepted}, false},
		{"delivered", []string{bob}, nil,
			[]step{acc(), at(pec.KindTakeInCharge, 0, bob), at(pec.KindDeliverySummary, 0.01, bob)},
			map[string]State{bob: StateDelivered}, true},
		{"delivered completa", []string{bob}, nil,
			[]step{acc(), at(pec.KindDelivery, 0.01, bob)},
			map[string]State{bob: StateDelivered}, true},
		{"external copy", []string{bob}, []string{carol},
			[]step{acc(), at(pec.KindDeliveryShort, 0.01, bob)},
			map[string]State{bob: StateDelivered, carol: StateSentToOrdinaryMail}, true},
		{"taken in charge", []string{bob, dora}, nil,
			[]step{acc(), at(pec.KindTakeInCharge, 0, bob, dora)},
			map[string]State{bob: StateTakenInCharge, dora: StateTakenInCharge}, false},
		{"not delivered", []string{bob}, nil,
			[]step{acc(), at(pec.KindDeliveryError, 0.01, bob)},
			map[string]State{bob: StateNotDelivered}, true},
		{"one delivered, one not", []string{bob, dora}, nil,
			[]step{acc(), at(pec.KindTakeInCharge, 0, bob, dora), at(pec.KindDeliverySummary, 0.01, bob), at(pec.KindDeliveryError, 0.01, dora)},
			map[string]State{bob: StateDelivered, dora: StateNotDelivered}, true},
		{"12 h warning", []string{bob}, nil,
			[]step{acc(), at(pec.KindDeliveryTimeout12h, 12, bob)},
			map[string]State{bob: StateDelayed}, false},
		{"delivered after the 12 h warning", []string{bob}, nil,
			[]step{acc(), at(pec.KindDeliveryTimeout12h, 12, bob), at(pec.KindDeliverySummary, 13, bob)},
			map[string]State{bob: StateDelivered}, true},
		{"24 h timeout", []string{bob}, nil,
			[]step{acc(), at(pec.KindDeliveryTimeout12h, 12, bob), at(pec.KindDeliveryTimeout24h, 23, bob)},
			map[string]State{bob: StateTimedOut}, true},
		{"24 h timeout after presa in carico", []string{bob}, nil,
			[]step{acc(), at(pec.KindTakeInCharge, 0, bob), at(pec.KindDeliveryTimeout24h, 23, bob)},
			map[string]State{bob: StateTimedOut}, true},
		{"late delivery wins over the timeout", []string{bob}, nil,
			[]step{acc(), at(pec.KindDeliveryTimeout12h, 12, bob), at(pec.KindDeliveryTimeout24h, 23, bob), at(pec.KindDeliverySummary, 30, bob)},
			map[string]State{bob: StateDelivered}, true},
		{"rejected", []string{bob}, []string{carol},
			[]step{at(pec.KindNonAcceptance, 0)},
			map[string]State{bob: StateRejected, carol: StateRejected}, true},
		{"rejected for virus", []string{bob}, nil,
			[]step{at(pec.KindNonAcceptanceVirus, 0)},
			map[string]State{bob: StateRejected}, true},
		{"virus at the recipient's provider", []string{bob, dora}, nil,
			[]step{acc(), at(pec.KindTakeInCharge, 0, bob, dora), at(pec.KindVirusDetected, 0.01, bob), at(pec.KindDeliveryErrorVirus, 0.02, bob), at(pec.KindDeliverySummary, 0.01, dora)},
			map[string]State{bob: StateVirus, dora: StateDelivered}, true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := memTracker(t)
			m := newSent(i, sampleTime, tc.to, tc.cc)
			if err := tr.Register(m.sent); err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.steps {
				u, err := tr.Observe(classifyBytes(t, m.build(t, s.kind, s.after, s.rcpt...)))
				if err != nil {
					t.Fatalf("%s: %v", s.kind, err)
				}
				if u.Duplicate || u.Ignored || u.MessageID != m.sent.MessageID {
					t.Fatalf("%s: Update = %+v", s.kind, u)
				}
			}
			st, ok := tr.Status(m.sent.MessageID)
			if !ok {
				t.Fatal("Status: not found")
			}
			checkStatus(t, st, tc.want)
			if st.Final() != tc.final {
				t.Errorf("Final() = %v, want %v", st.Final(), tc.final)
			}
			if len(st.Problems) > 0 {
				t.Errorf("Problems = %v", st.Problems)
			}
			if len(tc.steps) > 0 && st.ID != m.env.ID {
				t.Errorf("ID = %q, want %q", st.ID, m.env.ID)
			}
		})
	}
}

// checkStatus compares the states and checks that every state beyond
// Submitted carries its evidence, and failures their pec.Error.
func checkStatus(t *testing.T, st *Status, want map[string]State) {
	t.Helper()
	if len(st.Recipients) != len(want) {
		t.Fatalf("%d recipients, want %d", len(st.Recipients), len(want))
	}
	for addr, w := range want {
		r := st.Recipient(addr)
		if r == nil {
			t.Fatalf("no recipient %s", addr)
		}
		if r.State != w {
			t.Errorf("%s: State = %s, want %s (events %v)", addr, r.State, w, kindsOf(r.Events))
			continue
		}
		switch {
		case w == StateSubmitted:
			if r.Evidence != nil || !r.Time.IsZero() {
				t.Errorf("%s: evidence %+v for a submitted message", addr, r.Evidence)
			}
		case r.Evidence == nil || r.Evidence.Digest == "" || !r.Evidence.Time.Equal(r.Time) || !r.Evidence.Verified:
			t.Errorf("%s: Evidence = %+v, Time %v", addr, r.Evidence, r.Time)
		}
		failing := w == StateRejected || w == StateNotDelivered || w == StateVirus || w == StateDelayed || w == StateTimedOut
		if failing != (r.Error != nil) {
			t.Errorf("%s: Error = %v in state %s", addr, r.Error, w)
		}
		if w == StateNotDelivered && (r.Error.Code != pec.ErrorNoDest || r.Error.Status() != "5.1.1") {
			t.Errorf("%s: Error = %+v, want no-dest 5.1.1", addr, r.Error)
		}
		if w == StateVirus && r.Error.Code != pec.ErrorVirus {
			t.Errorf("%s: Error = %+v, want virus", addr, r.Error)
		}
		var pe *pec.Error
		if r.Error != nil && !errors.As(error(r.Error), &pe) {
			t.Errorf("%s: errors.As fails", addr)
		}
	}
}

func kindsOf(evs []Evidence) []string {
	var l []string
	for _, e := range evs {
		l = append(l, e.Kind.String())
	}
	return l
}

// TestTrackerUpdates checks what Observe reports: the changes, duplicates
// (the same receipt, the same bytes re-fetched, the same notice with other
// mailbox header fields), non-receipts, unknown messages and recipients.
func TestTrackerUpdates(t *testing.T) {
	tr := memTracker(t)
	m := newSent(1, sampleTime, []string{bob}, []string{carol})
	if err := tr.Register(m.sent); err != nil {
		t.Fatal(err)
	}
	if err := tr.Register(m.sent); !errors.Is(err, ErrAlreadySent) {
		t.Fatalf("second Register: err = %v, want ErrAlreadySent", err)
	}
	s2 := m.sent
	s2.MessageID = "<" + strings.ToUpper(strings.Split(m.sent.MessageID, "@")[0]) + "@CLIENT.example>"
	if err := tr.Register(s2); err != nil {
		t.Fatalf("a Message-ID differing in the local part is another message: %v", err)
	}
	s3 := m.sent
	s3.MessageID = "<" + strings.Split(m.sent.MessageID, "@")[0] + "@CLIENT.EXAMPLE>"
	if err := tr.Register(s3); !errors.Is(err, ErrAlreadySent) {
		t.Fatalf("domain in another case: err = %v, want ErrAlreadySent", err)
	}

	accBytes := m.build(t, pec.KindAcceptance, 0)
	u, err := tr.Observe(classifyBytes(t, accBytes))
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{{bob, StateSubmitted, StateAccepted}, {carol, StateSubmitted, StateSentToOrdinaryMail}}
	if !equalChanges(u.Changes, want) {
		t.Fatalf("Changes = %v, want %v", u.Changes, want)
	}

	t.Run("same message twice", func(t *testing.T) {
		u, err := tr.Observe(classifyBytes(t, accBytes))
		if err != nil || !u.Duplicate || len(u.Changes) != 0 || u.MessageID != m.sent.MessageID {
			t.Fatalf("Update = %+v, err = %v", u, err)
		}
	})
	t.Run("re-fetched with a mailbox header", func(t *testing.T) {
		refetched := append([]byte("Delivered-To: "+sample.Alice+"\r\nReturn-Path: <>\r\n"), accBytes...)
		u, err := tr.Observe(classifyBytes(t, refetched))
		if err != nil || !u.Duplicate {
			t.Fatalf("Update = %+v, err = %v", u, err)
		}
	})
	t.Run("replayed under another Message-ID", func(t *testing.T) {
		// The receipt's own Message-ID is outside the signature: a genuine
		// receipt replayed under a new one is the same evidence.
		replayed := regexp.MustCompile(`(?im)^Message-Id:.*\r\n`).ReplaceAll(accBytes, []byte("Message-ID: <replay-1@attacker.example>\r\n"))
		if bytes.Equal(replayed, accBytes) {
			t.Fatal("no Message-ID replaced")
		}
		u, err := tr.Observe(classifyBytes(t, replayed))
		if err != nil || !u.Duplicate || len(u.Changes) != 0 {
			t.Fatalf("Update = %+v, err = %v", u, err)
		}
	})
	t.Run("ordinary mail", func(t *testing.T) {
		u, err := tr.Observe(classifyBytes(t, []byte(sample.Ordinary)))
		if err != nil || !u.Ignored {
			t.Fatalf("Update = %+v, err = %v", u, err)
		}
	})
	t.Run("an envelope", func(t *testing.T) {
		u, err := tr.Observe(classifyBytes(t, samples(t).Messages[pec.KindTransport]))
		if err != nil || !u.Ignored {
			t.Fatalf("Update = %+v, err = %v", u, err)
		}
	})
	t.Run("unknown message", func(t *testing.T) {
		other := newSent(99, sampleTime, []string{bob}, nil)
		_, err := tr.Observe(classifyBytes(t, other.build(t, pec.KindDeliverySummary, 1, bob)))
		if !errors.Is(err, ErrUnknownMessage) || !strings.Contains(err.Error(), other.sent.MessageID) {
			t.Fatalf("err = %v, want ErrUnknownMessage naming the msgid", err)
		}
	})
	t.Run("unknown recipient", func(t *testing.T) {
		// Signed data that lists Dora among the destinatari (a builder
		// refuses a delivery for anyone else): she is still not a
		// recipient of the message sent.
		env := *m.env
		env.Recipients = append(append([]daticert.Recipient{}, env.Recipients...), daticert.Recipient{Address: dora, Type: pec.RecipientCertified})
		other := &sentMsg{sent: m.sent, env: &env}
		u, err := tr.Observe(classifyBytes(t, other.build(t, pec.KindDeliverySummary, 1, dora)))
		if !errors.Is(err, ErrUnknownRecipient) || u == nil || len(u.Changes) != 0 {
			t.Fatalf("Update = %+v, err = %v, want ErrUnknownRecipient", u, err)
		}
	})
	t.Run("delivery", func(t *testing.T) {
		u, err := tr.Observe(classifyBytes(t, m.build(t, pec.KindDeliverySummary, 1, bob)))
		want := []Change{{bob, StateAccepted, StateDelivered}}
		if err != nil || !equalChanges(u.Changes, want) {
			t.Fatalf("Update = %+v, err = %v", u, err)
		}
	})
	t.Run("no regression", func(t *testing.T) {
		u, err := tr.Observe(classifyBytes(t, m.build(t, pec.KindDeliveryTimeout12h, 12, bob)))
		if err != nil || len(u.Changes) != 0 {
			t.Fatalf("Update = %+v, err = %v", u, err)
		}
		st, _ := tr.Status(m.sent.MessageID)
		if r := st.Recipient(bob); r.State != StateDelivered || len(r.Events) != 3 {
			t.Fatalf("bob: %s with %v", r.State, kindsOf(r.Events))
		}
	})
	t.Run("nil", func(t *testing.T) {
		if _, err := tr.Observe(nil); err == nil {
			t.Fatal("no error")
		}
	})
}

func equalChanges(a, b []Change) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Recipient != b[i].Recipient || a[i].From != b[i].From || a[i].To != b[i].To {
			return false
		}
	}
	return true
}

// TestTrackerEvidence: only receipts signed by a provider of the index,
// verified live, count, unless asked.
func TestTrackerEvidence(t *testing.T) {
	m := newSent(1, sampleTime, []string{bob}, nil)
	good := m.build(t, pec.KindDeliverySummary, 1, bob)
	tampered := bytes.Replace(good, []byte("Il giorno"), []byte("Il  giorno"), 1)
	if bytes.Equal(tampered, good) {
		t.Fatal("tampering did not change the receipt")
	}
	// Certified ten minutes ago, when the sample certificates were valid:
	// verified as of its signing time, or at another time, it would be
	// trusted; only the live check refuses it.
	recent := newSent(1, time.Now().Add(-10*time.Minute), []string{bob}, nil).build(t, pec.KindDeliverySummary, 0, bob)
	unsigned := strings.Replace(sample.Ordinary, "Subject: Offerta", "X-Ricevuta: avvenuta-consegna\r\nSubject: CONSEGNA: x", 1)
	tests := []struct {
		name    string
		msg     *Message
		allow   bool
		ok      bool
		notLive bool // refused only because it was not verified live
	}{
		{"verified", classifyBytes(t, good), false, true, false},
		{"tampered", classifyBytes(t, tampered), false, false, false},
		{"tampered, allowed", classifyBytes(t, tampered), true, true, false},
		{"integrity only", mustClassify(t, good, nil), false, false, false}, // no roots given: Trusted is nil, nothing says a provider signed it
		{"integrity only, allowed", mustClassify(t, good, nil), true, true, false},
		{"other CA", mustClassify(t, good, &smime.VerifyOptions{Roots: otherPKI(t).Pool()}), false, false, false},
		{"roots only", mustClassify(t, good, &smime.VerifyOptions{Roots: samples(t).PKI.Pool()}), false, false, false}, // chained, not established as a provider
		{"roots only, allowed", mustClassify(t, good, &smime.VerifyOptions{Roots: samples(t).PKI.Pool()}), true, true, false},
		{"index only", mustClassify(t, good, &smime.VerifyOptions{Authority: verifyOpts(t).Authority}), false, true, false},
		{"recent", classifyBytes(t, recent), false, true, false},
		{"as of the signing time", mustClassify(t, recent, withOpts(verifyOpts(t), func(o *smime.VerifyOptions) { o.AsOfSigningTime = true })), false, false, true},
		{"at another time", mustClassify(t, recent, withOpts(verifyOpts(t), func(o *smime.VerifyOptions) { o.CurrentTime = time.Now().Add(2 * time.Hour) })), false, false, true},
		{"at another time, allowed", mustClassify(t, recent, withOpts(verifyOpts(t), func(o *smime.VerifyOptions) { o.CurrentTime = time.Now().Add(2 * time.Hour) })), true, true, false},
		{"unsigned, no data", classifyBytes(t, []byte(unsigned)), true, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := OpenTracker("", &TrackerOptions{AllowUnverified: tc.allow})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			if err := tr.Register(m.sent); err != nil {
				t.Fatal(err)
			}
			_, err = tr.Observe(tc.msg)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrNotEvidence)) {
				t.Fatalf("err = %v, want ok %v", err, tc.ok)
			}
			if tc.notLive {
				if sig := tc.msg.Signature; sig == nil || !sig.OK() || !strings.Contains(err.Error(), "not verified live") {
					t.Fatalf("refused for another reason than the time of the verification: %v (verdict %s)", err, sig.Summary())
				}
			}
			st, _ := tr.Status(m.sent.MessageID)
			r := st.Recipient(bob)
			if tc.ok && (r.State != StateDelivered || r.Evidence.Verified == tc.allow) {
				t.Errorf("State %s, Verified %v", r.State, r.Evidence.Verified)
			}
			if !tc.ok && r.State != StateSubmitted {
				t.Errorf("State %s from refused evidence", r.State)
			}
		})
	}
}

// withOpts returns a copy of o changed by f.
func withOpts(o *smime.VerifyOptions, f func(*smime.VerifyOptions)) *smime.VerifyOptions {
	c := *o
	f(&c)
	return &c
}

func mustClassify(t *testing.T, b []byte, opts *smime.VerifyOptions) *Message {
	t.Helper()
	m, err := Classify(bytes.NewReader(b), opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTrackerLateRegister: receipts that arrive before their message is
// registered (a crash between submission and Register) are kept and counted
// at Register; receipts naming only the identificativo are matched once a
// receipt has told it.
func TestTrackerLateRegister(t *testing.T) {
	tr := memTracker(t)
	m := newSent(1, sampleTime, []string{bob}, nil)
	if _, err := tr.Observe(classifyBytes(t, m.build(t, pec.KindDeliverySummary, 1, bob))); !errors.Is(err, ErrUnknownMessage) {
		t.Fatalf("err = %v", err)
	}
	if err := tr.Register(m.sent); err != nil {
		t.Fatal(err)
	}
	st, _ := tr.Status(m.sent.MessageID)
	if r := st.Recipient(bob); r.State != StateDelivered {
		t.Fatalf("bob: %s", r.State)
	}

	// The same with a notice that has no msgid (the client sent none).
	tr2 := memTracker(t)
	m2 := newSent(2, sampleTime, []string{bob, dora}, nil)
	env := *m2.env
	m2.env.MsgID = ""
	noMsgID := m2.build(t, pec.KindDeliveryError, 1, dora)
	m2.env = &env
	if err := tr2.Register(m2.sent); err != nil {
		t.Fatal(err)
	}
	if _, err := tr2.Observe(classifyBytes(t, noMsgID)); !errors.Is(err, ErrUnknownMessage) {
		t.Fatalf("before the acceptance: err = %v", err)
	}
	if _, err := tr2.Observe(classifyBytes(t, m2.build(t, pec.KindAcceptance, 0))); err != nil {
		t.Fatal(err)
	}
	st, _ = tr2.Status(m2.sent.MessageID)
	checkStatus(t, st, map[string]State{bob: StateAccepted, dora: StateNotDelivered})
}

// TestTrackerTimeoutByElapsed: a preavviso whose text names neither 12 nor
// 24 hours is told by the time since acceptance (PEC.md §15.4: ≥ 22 h is
// the final notice).
func TestTrackerTimeoutByElapsed(t *testing.T) {
	s := newSent(1, sampleTime, []string{bob}, nil).sent
	accept := &observation{Kind: kindText(pec.KindAcceptance), MsgID: s.MessageID, Sender: s.From, ID: "x@y", Time: sampleTime, Digest: "a",
		Recipients: []obsRecipient{{Address: bob, Type: string(pec.RecipientCertified)}}}
	for _, tc := range []struct {
		after  time.Duration
		byText bool
		kind   pec.Kind
		want   State
	}{
		{12 * time.Hour, false, pec.KindDeliveryTimeout12h, StateDelayed},
		{21*time.Hour + 59*time.Minute, false, pec.KindDeliveryTimeout12h, StateDelayed},
		{22 * time.Hour, false, pec.KindDeliveryTimeout12h, StateTimedOut},
		{23 * time.Hour, true, pec.KindDeliveryTimeout12h, StateDelayed}, // the text said 12 hours
		{13 * time.Hour, true, pec.KindDeliveryTimeout24h, StateTimedOut},
	} {
		warn := &observation{Kind: kindText(tc.kind), MsgID: s.MessageID, Sender: s.From, ID: "x@y", Time: sampleTime.Add(tc.after), Digest: "b", Delivery: bob, ByText: tc.byText}
		st := derive(s, []*observation{warn, accept}, func(p string) string { return p })
		if got := st.Recipient(bob).State; got != tc.want {
			t.Errorf("%s after %v (by text %v): %s, want %s", tc.kind, tc.after, tc.byText, got, tc.want)
		}
	}
}

// TestTrackerConflict: contradictory final evidence is reported, and the
// outcome is the one of higher precedence whatever the order.
func TestTrackerConflict(t *testing.T) {
	m := newSent(1, sampleTime, []string{bob}, nil)
	a := classifyBytes(t, m.build(t, pec.KindDeliveryError, 1, bob))
	b := classifyBytes(t, m.build(t, pec.KindDeliverySummary, 2, bob))
	for _, order := range [][]*Message{{a, b}, {b, a}} {
		tr := memTracker(t)
		if err := tr.Register(m.sent); err != nil {
			t.Fatal(err)
		}
		for _, msg := range order {
			if _, err := tr.Observe(msg); err != nil {
				t.Fatal(err)
			}
		}
		st, _ := tr.Status(m.sent.MessageID)
		if st.Recipient(bob).State != StateDelivered || len(st.Problems) != 1 {
			t.Errorf("State %s, Problems %v", st.Recipient(bob).State, st.Problems)
		}
	}
}

// TestTrackerRegister checks the validation of Sent.
func TestTrackerRegister(t *testing.T) {
	now := time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	tr, err := OpenTracker("", &TrackerOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	tests := []struct {
		name string
		s    Sent
		ok   bool
	}{
		{"display names", Sent{MessageID: "<a@b>", From: "Alice <" + sample.Alice + ">", To: []string{"Bob Bianchi <" + bob + ">"}}, true},
		{"no Message-ID", Sent{MessageID: " <> ", To: []string{bob}}, false},
		{"no recipients", Sent{MessageID: "c@b", From: sample.Alice}, false},
		{"bad address", Sent{MessageID: "d@b", From: sample.Alice, To: []string{"Bob <bob@"}}, false},
		{"no sender", Sent{MessageID: "f@b", To: []string{bob}}, false},
		{"bad sender", Sent{MessageID: "g@b", From: "Alice <alice@", To: []string{bob}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tr.Register(tc.s)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok %v", err, tc.ok)
			}
		})
	}
	st, ok := tr.Status("a@b")
	if !ok || st.From != sample.Alice || st.Recipients[0].Address != bob || !st.Time.Equal(now) {
		t.Fatalf("Status = %+v", st)
	}
	if l := tr.List(); len(l) != 1 {
		t.Fatalf("List = %d", len(l))
	}
	tr.Close()
	if err := tr.Register(Sent{MessageID: "e@b", From: sample.Alice, To: []string{bob}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if _, err := tr.Observe(&Message{}); err != nil {
		t.Fatalf("a non-receipt after Close is still ignored: %v", err)
	}
}

// TestTrackerList sorts by send time.
func TestTrackerList(t *testing.T) {
	tr := memTracker(t)
	for i, h := range []int{5, 1, 3} {
		m := newSent(i, sampleTime.Add(time.Duration(h)*time.Hour), []string{bob}, nil)
		if err := tr.Register(m.sent); err != nil {
			t.Fatal(err)
		}
	}
	l := tr.List()
	for i := 1; i < len(l); i++ {
		if !l[i-1].Time.Before(l[i].Time) {
			t.Fatalf("not sorted: %v then %v", l[i-1].Time, l[i].Time)
		}
	}
	// The result is a copy.
	l[0].Recipients[0].State = StateDelivered
	if st, _ := tr.Status(l[0].MessageID); st.Recipients[0].State != StateSubmitted {
		t.Fatal("List exposes the tracker's state")
	}
}

func otherPKI(t *testing.T) *pectest.PKI {
	t.Helper()
	p, err := pectest.NewPKI("Other CA")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTrackerStatusCopy: what Status returns can be changed freely.
func TestTrackerStatusCopy(t *testing.T) {
	tr := memTracker(t)
	m := newSent(1, sampleTime, []string{bob}, nil)
	if err := tr.Register(m.sent); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Observe(classifyBytes(t, m.build(t, pec.KindDeliveryError, 1, bob))); err != nil {
		t.Fatal(err)
	}
	st, _ := tr.Status(m.sent.MessageID)
	r := st.Recipient(bob)
	r.Error.Code, r.Evidence.Kind, r.Events[0].Error.Extended = pec.ErrorOther, pec.KindDelivery, "changed"
	st.To[0] = "x@y"
	again, _ := tr.Status(m.sent.MessageID)
	if r := again.Recipient(bob); r == nil || r.Error.Code != pec.ErrorNoDest || r.Evidence.Kind != pec.KindDeliveryError || r.Events[0].Error.Extended == "changed" {
		t.Fatalf("the tracker's state changed through a returned Status: %+v", again)
	}
}

// TestStatusOverdue: a certified recipient still open 25 h after acceptance
// is overdue; an external one or a final one never is.
func TestStatusOverdue(t *testing.T) {
	tr := memTracker(t)
	m := newSent(1, sampleTime, []string{bob, dora}, []string{carol})
	if err := tr.Register(m.sent); err != nil {
		t.Fatal(err)
	}
	for _, s := range []step{acc(), at(pec.KindDeliverySummary, 1, dora), at(pec.KindDeliveryTimeout12h, 12, bob)} {
		if _, err := tr.Observe(classifyBytes(t, m.build(t, s.kind, s.after, s.rcpt...))); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := tr.Status(m.sent.MessageID)
	accepted := st.Recipient(bob).Events[0].Time
	for _, tc := range []struct {
		after time.Duration
		want  int
	}{{0, 0}, {24 * time.Hour, 0}, {OverdueAfter - time.Second, 0}, {OverdueAfter, 1}, {100 * time.Hour, 1}} {
		got := st.Overdue(accepted.Add(tc.after))
		if len(got) != tc.want || (tc.want == 1 && got[0].Address != bob) {
			t.Errorf("%v after acceptance: overdue %d, want %d", tc.after, len(got), tc.want)
		}
	}
}
