package spooltest

import (
	"fmt"
	"testing"

	"github.com/pecsdk/pec/provider/spool"
)

// RunDurable checks that a spool reopened on the same location holds
// what it acknowledged, and nothing it completed: envelopes, bodies,
// steps with their outputs, retries. open is called several times with
// the same dir (a fresh t.TempDir() per subtest); a spool that does not
// live in a directory may use dir as the name of its location.
// RunDurable closes the spools it opens.
func RunDurable(t *testing.T, open func(t *testing.T, dir string) spool.Spool) {
	t.Run("Reopen", func(t *testing.T) {
		dir := t.TempDir()
		sp := open(t, dir)
		for i := range 5 {
			put(t, sp, newItem(fmt.Sprint("q", i)), uint64(i), int64(1000*i))
		}
		done(t, sp, "q1", "acceptance", []byte("receipt 1"))
		done(t, sp, "q1", "trace", nil)
		done(t, sp, "q2", "acceptance", []byte("receipt 2"))
		if _, err := sp.Retry(ctx(t), "q2", "relay:pec.example.org", testTime.Add(1), "451"); err != nil {
			t.Fatal(err)
		}
		if _, err := sp.Retry(ctx(t), "q2", "relay:pec.example.org", testTime.Add(2), "452"); err != nil {
			t.Fatal(err)
		}
		if _, err := sp.Retry(ctx(t), "q3", "relay", testTime, "done later"); err != nil {
			t.Fatal(err)
		}
		done(t, sp, "q3", "relay", []byte("sent"))
		done(t, sp, "q4", "acceptance", []byte("receipt 4"))
		if err := sp.Complete(ctx(t), "q4"); err != nil {
			t.Fatal(err)
		}
		before, err := sp.Pending(ctx(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := sp.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}

		sp = open(t, dir)
		after, err := sp.Pending(ctx(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		sameStates(t, "after reopening", after, before)
		for i := range 4 {
			checkBody(t, sp, fmt.Sprint("q", i), uint64(i), int64(1000*i))
		}
		for _, c := range []struct{ id, step, out string }{{"q1", "acceptance", "receipt 1"}, {"q1", "trace", ""}, {"q2", "acceptance", "receipt 2"}, {"q3", "relay", "sent"}} {
			if got := output(t, sp, c.id, c.step); string(got) != c.out {
				t.Fatalf("after reopening, output of %s %s: %q, want %q", c.id, c.step, got, c.out)
			}
		}
		_, err = sp.Get(ctx(t), "q4")
		isNotFound(t, "a completed item after reopening", err)
		if n, err := sp.Retry(ctx(t), "q2", "relay:pec.example.org", testTime, "453"); n != 3 || err != nil {
			t.Fatalf("Retry after reopening: %d attempts, %v; want 3", n, err)
		}
		put(t, sp, newItem("q4"), 9, 10)
		if st := get(t, sp, "q4"); len(st.Steps) != 0 {
			t.Fatalf("a completed ID put again after reopening has steps %q", st.Steps)
		}
		if err := sp.Close(); err != nil {
			t.Fatal(err)
		}

		sp = open(t, dir)
		defer sp.Close()
		checkBody(t, sp, "q4", 9, 10)
		if st := get(t, sp, "q2"); len(st.Retries) != 1 || st.Retries[0].Attempts != 3 || st.Retries[0].Cause != "453" {
			t.Fatalf("after a second reopening, retries %+v", st.Retries)
		}
	})
	t.Run("ReopenEmpty", func(t *testing.T) {
		dir := t.TempDir()
		sp := open(t, dir)
		if err := sp.Close(); err != nil {
			t.Fatal(err)
		}
		sp = open(t, dir)
		defer sp.Close()
		if p, err := sp.Pending(ctx(t), nil); err != nil || len(p) != 0 {
			t.Fatalf("Pending of a reopened empty spool: %v, %v", ids(p), err)
		}
		put(t, sp, newItem("q1"), 1, 10)
		checkBody(t, sp, "q1", 1, 10)
	})
}

// sameStates fails the test unless got and want hold the same states.
func sameStates(t *testing.T, what string, got, want []*spool.State) {
	t.Helper()
	if fmt.Sprint(ids(got)) != fmt.Sprint(ids(want)) {
		t.Fatalf("%s: items %v, want %v", what, ids(got), ids(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		sameItem(t, what, &g.Item, &w.Item)
		if g.Size != w.Size || fmt.Sprint(g.Steps) != fmt.Sprint(w.Steps) {
			t.Fatalf("%s: item %s: size %d, steps %q; want %d, %q", what, g.Item.ID, g.Size, g.Steps, w.Size, w.Steps)
		}
		sameRetries(t, what+": item "+g.Item.ID, g.Retries, w.Retries)
	}
}
