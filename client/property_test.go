package client

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/sample"
)

var (
	propSeed   = flag.Uint64("tracker.seed", 0, "seed of the shuffled-order tracker test (0: from the clock)")
	propRounds = flag.Int("tracker.rounds", 300, "orders tried by the shuffled-order tracker test")
)

// outcome is what the generator decides for one certified recipient, with
// the state the tracker must reach for it whatever the order of arrival.
type outcome struct {
	name  string
	steps func(m *sentMsg, r string, pic bool) []step
	want  State
}

var outcomes = []outcome{
	{"nothing yet", func(*sentMsg, string, bool) []step { return nil }, StateAccepted},
	{"taken in charge", func(_ *sentMsg, r string, _ bool) []step { return []step{at(pec.KindTakeInCharge, 0, r)} }, StateTakenInCharge},
	{"delivered", func(_ *sentMsg, r string, pic bool) []step {
		return withPIC(pic, r, at(pec.KindDeliverySummary, 0.01, r))
	}, StateDelivered},
	{"delivered completa", func(_ *sentMsg, r string, pic bool) []step {
		return withPIC(pic, r, at(pec.KindDelivery, 0.01, r))
	}, StateDelivered},
	{"delivered breve", func(_ *sentMsg, r string, pic bool) []step {
		return withPIC(pic, r, at(pec.KindDeliveryShort, 0.01, r))
	}, StateDelivered},
	{"delivered after 12 h", func(_ *sentMsg, r string, _ bool) []step {
		return []step{at(pec.KindDeliveryTimeout12h, 12, r), at(pec.KindDeliverySummary, 14, r)}
	}, StateDelivered},
	{"not delivered", func(_ *sentMsg, r string, pic bool) []step {
		return withPIC(pic, r, at(pec.KindDeliveryError, 0.01, r))
	}, StateNotDelivered},
	{"virus", func(_ *sentMsg, r string, pic bool) []step {
		return withPIC(pic, r, at(pec.KindVirusDetected, 0.01, r), at(pec.KindDeliveryErrorVirus, 0.02, r))
	}, StateVirus},
	{"delayed", func(_ *sentMsg, r string, _ bool) []step { return []step{at(pec.KindDeliveryTimeout12h, 12, r)} }, StateDelayed},
	{"timed out", func(_ *sentMsg, r string, _ bool) []step {
		return []step{at(pec.KindDeliveryTimeout12h, 12, r), at(pec.KindDeliveryTimeout24h, 23, r)}
	}, StateTimedOut},
	{"timed out after presa in carico", func(_ *sentMsg, r string, _ bool) []step {
		return []step{at(pec.KindTakeInCharge, 0, r), at(pec.KindDeliveryTimeout24h, 23, r)}
	}, StateTimedOut},
	{"late delivery", func(_ *sentMsg, r string, _ bool) []step {
		return []step{at(pec.KindDeliveryTimeout12h, 12, r), at(pec.KindDeliveryTimeout24h, 23, r), at(pec.KindDeliverySummary, 26, r)}
	}, StateDelivered},
	{"late failure", func(_ *sentMsg, r string, _ bool) []step {
		return []step{at(pec.KindDeliveryTimeout12h, 12, r), at(pec.KindDeliveryTimeout24h, 23, r), at(pec.KindDeliveryError, 27, r)}
	}, StateNotDelivered},
}

func withPIC(pic bool, r string, s ...step) []step {
	if pic {
		return append([]step{at(pec.KindTakeInCharge, 0, r)}, s...)
	}
	return s
}

// arrival is one message fetched from the mailbox.
type arrival struct {
	msg      *Message
	of       string // the client Message-ID it is about
	identity string // same for a copy re-fetched with other mailbox fields
}

// world is a generated set of sent messages, their receipts, and the
// states every recipient must end in.
type world struct {
	sent     []*sentMsg
	unknown  []*sentMsg // never registered
	arrivals []arrival
	refetch  []arrival // the same receipts as a mailbox delivers them again
	want     map[string]map[string]State
}

func generate(t *testing.T, rng *rand.Rand) *world {
	t.Helper()
	pool := []string{bob, dora, "erik@" + sample.RecipientDomain, "fabio@" + sample.RecipientDomain, carol, "gino@ordinaria.example"}
	w := &world{want: map[string]map[string]State{}}
	for n := range 10 {
		perm := rng.Perm(len(pool))
		k := 1 + rng.IntN(4)
		var to, cc []string
		for i, p := range perm[:k] {
			if i > 0 && rng.IntN(3) == 0 {
				cc = append(cc, pool[p])
			} else {
				to = append(to, pool[p])
			}
		}
		m := newSent(n, sampleTime.Add(time.Duration(n)*time.Minute), to, cc)
		var steps []step
		want := map[string]State{}
		if n < 8 {
			w.sent = append(w.sent, m)
			w.want[m.sent.MessageID] = want
		} else {
			w.unknown = append(w.unknown, m)
		}
		if rng.IntN(8) == 0 {
			k := pec.KindNonAcceptance
			if rng.IntN(2) == 0 {
				k = pec.KindNonAcceptanceVirus
			}
			steps = append(steps, at(k, 0))
			for _, a := range append(append([]string{}, to...), cc...) {
				want[a] = StateRejected
			}
		} else {
			steps = append(steps, acc())
			var certified []string
			for _, a := range append(append([]string{}, to...), cc...) {
				if pec.Domain(a) != sample.RecipientDomain {
					want[a] = StateSentToOrdinaryMail
					continue
				}
				certified = append(certified, a)
			}
			// One presa in carico covering several recipients, or one each.
			shared := len(certified) > 1 && rng.IntN(2) == 0
			if shared {
				steps = append(steps, at(pec.KindTakeInCharge, 0, certified...))
			}
			for _, a := range certified {
				o := outcomes[rng.IntN(len(outcomes))]
				steps = append(steps, o.steps(m, a, !shared && rng.IntN(2) == 0)...)
				want[a] = o.want
				if shared && o.want == StateAccepted {
					want[a] = StateTakenInCharge
				}
			}
		}
		for _, s := range steps {
			b := m.build(t, s.kind, s.after, s.rcpt...)
			id := fmt.Sprintf("%s/%d", m.sent.MessageID, len(w.arrivals))
			w.arrivals = append(w.arrivals, arrival{classifyBytes(t, b), m.sent.MessageID, id})
			again := append([]byte("Delivered-To: "+sample.Alice+"\r\n"), b...)
			w.refetch = append(w.refetch, arrival{classifyBytes(t, again), m.sent.MessageID, id})
		}
	}
	return w
}

// TestTrackerAnyOrder is the property of issue point 2: whatever the order
// of arrival, with duplicates (the same receipt again, or re-fetched with
// other mailbox header fields), receipts about unknown messages, and
// messages registered after some of their receipts arrived, every recipient
// ends in the same state, the one its receipts prove; and the same after
// the store is closed and reopened.
func TestTrackerAnyOrder(t *testing.T) {
	seed := *propSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -tracker.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	w := generate(t, rng)
	rounds := *propRounds
	if testing.Short() {
		rounds = 30
	}
	var reference string
	for round := range rounds {
		persist := round%25 == 0
		got := runOrder(t, rng, w, persist, round)
		if reference == "" {
			reference = got
			continue
		}
		if got != reference {
			t.Fatalf("seed %d, round %d (persist %v): final state differs from round 0:\n%s\nwant\n%s", seed, round, persist, got, reference)
		}
	}
}

// runOrder feeds one shuffled sequence and returns the normalised state.
func runOrder(t *testing.T, rng *rand.Rand, w *world, persist bool, round int) string {
	t.Helper()
	type event struct {
		register *Sent
		arrival  *arrival
	}
	var seq []event
	for i := range w.arrivals {
		seq = append(seq, event{arrival: &w.arrivals[i]})
		switch rng.IntN(5) {
		case 0:
			seq = append(seq, event{arrival: &w.arrivals[i]})
		case 1:
			seq = append(seq, event{arrival: &w.refetch[i]})
		}
	}
	rng.Shuffle(len(seq), func(i, j int) { seq[i], seq[j] = seq[j], seq[i] })
	// Most messages are registered before anything arrives; some later,
	// at a random place (a crash between submission and Register).
	var early []event
	for _, m := range w.sent {
		ev := event{register: &m.sent}
		if rng.IntN(3) == 0 {
			p := rng.IntN(len(seq) + 1)
			seq = append(seq[:p], append([]event{ev}, seq[p:]...)...)
		} else {
			early = append(early, ev)
		}
	}
	seq = append(early, seq...)

	var path string
	open := func() *Tracker {
		tr, err := OpenTracker(path, &TrackerOptions{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	if persist {
		path = filepath.Join(t.TempDir(), "store")
	}
	tr := open()
	reopenAt := rng.IntN(len(seq))
	registered := map[string]bool{}
	seen := map[string]bool{}
	for i, ev := range seq {
		if persist && i == reopenAt {
			if err := tr.Close(); err != nil {
				t.Fatal(err)
			}
			tr = open()
		}
		if ev.register != nil {
			if err := tr.Register(*ev.register); err != nil {
				t.Fatalf("round %d: Register %s: %v", round, ev.register.MessageID, err)
			}
			registered[ev.register.MessageID] = true
			continue
		}
		a := ev.arrival
		u, err := tr.Observe(a.msg)
		dup := seen[a.identity]
		seen[a.identity] = true
		switch {
		case dup:
			if err != nil || u == nil || !u.Duplicate {
				t.Fatalf("round %d: duplicate %s %s: %+v, %v", round, a.msg.Kind, a.identity, u, err)
			}
		case !registered[a.of]:
			if !errors.Is(err, ErrUnknownMessage) {
				t.Fatalf("round %d: %s about unregistered %s: err = %v, want ErrUnknownMessage", round, a.msg.Kind, a.of, err)
			}
		case err != nil || u.Duplicate || u.MessageID != a.of:
			t.Fatalf("round %d: %s about %s: %+v, %v", round, a.msg.Kind, a.of, u, err)
		}
	}
	checkWorld(t, tr, w, round)
	got := normalised(t, tr)
	if persist {
		if err := tr.Close(); err != nil {
			t.Fatal(err)
		}
		tr = open()
		if again := normalised(t, tr); again != got {
			t.Fatalf("round %d: state after close and reopen differs:\n%s\nwant\n%s", round, again, got)
		}
	}
	tr.Close()
	return got
}

// checkWorld compares every recipient with the generator's oracle.
func checkWorld(t *testing.T, tr *Tracker, w *world, round int) {
	t.Helper()
	if n := len(tr.List()); n != len(w.sent) {
		t.Fatalf("round %d: %d messages tracked, want %d", round, n, len(w.sent))
	}
	for id, want := range w.want {
		st, ok := tr.Status(id)
		if !ok {
			t.Fatalf("round %d: %s not tracked", round, id)
		}
		for addr, ws := range want {
			if r := st.Recipient(addr); r == nil || r.State != ws {
				t.Fatalf("round %d: %s → %s: %v, want %s (events %v)", round, id, addr, r.State, ws, kindsOf(r.Events))
			}
		}
		if len(st.Problems) > 0 {
			t.Fatalf("round %d: %s: Problems %v", round, id, st.Problems)
		}
	}
}

// normalised is the snapshot with evidence paths reduced to their names
// (the stores of different rounds are in different folders).
func normalised(t *testing.T, tr *Tracker) string {
	t.Helper()
	l := tr.List()
	for _, st := range l {
		for i := range st.Recipients {
			r := &st.Recipients[i]
			if r.Evidence != nil {
				e := *r.Evidence
				e.Path = ""
				r.Evidence = &e
			}
			for j := range r.Events {
				r.Events[j].Path = ""
			}
		}
	}
	return fmt.Sprintf("%+v", statusesString(l))
}

func statusesString(l []*Status) string {
	s := ""
	for _, st := range l {
		s += fmt.Sprintf("%s id=%s\n", st.MessageID, st.ID)
		for _, r := range st.Recipients {
			s += fmt.Sprintf("  %s copy=%v type=%s %s at %s", r.Address, r.Copy, r.Type, r.State, r.Time.UTC().Format(time.RFC3339))
			if r.Evidence != nil {
				s += fmt.Sprintf(" by %s %s", r.Evidence.Kind, r.Evidence.MessageID)
			}
			if r.Error != nil {
				s += fmt.Sprintf(" error=%s/%s", r.Error.Code, r.Error.Extended)
			}
			s += fmt.Sprintf(" events=%v\n", kindsOf(r.Events))
		}
	}
	return s
}
