package tracetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/pecsdk/pec/trace"
)

// RunDurable checks that a store keeps what it acknowledged across Close
// and a new open on the same location: records, seals, the checkpoint,
// its indexes and its place in the chain. open is called several times
// with the same dir (a fresh t.TempDir() per subtest); a store that does
// not live in a directory may use dir as the name of its location.
// RunDurable closes the stores it opens.
func RunDurable(t *testing.T, open func(t *testing.T, dir string) trace.Store) {
	t.Run("Reopen", func(t *testing.T) {
		dir := t.TempDir()
		st := open(t, dir)
		recs := appendN(t, st, 0, 40, 7)
		seal := testSeal(t, recs[29], recs[29].Time.Add(time.Minute))
		if err := st.AddSeal(ctx(t), seal); err != nil {
			t.Fatal(err)
		}
		cp := testCheckpoint(t, recs[9], recs[10].Time, recs[39].Time)
		if err := st.Cut(ctx(t), cp); err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}

		st = open(t, dir)
		checkReopened(t, st, recs[10:], seal, cp)
		more := appendN(t, st, 40, 5, 2)
		if more[0].Seq != 41 || more[0].Prev != recs[39].Hash {
			t.Fatalf("after reopening, the next record got Seq %d", more[0].Seq)
		}
		if err := st.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}

		st = open(t, dir)
		defer st.Close()
		checkReopened(t, st, append(recs[10:], more...), seal, cp)
	})
	t.Run("ReopenEmpty", func(t *testing.T) {
		dir := t.TempDir()
		st := open(t, dir)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		st = open(t, dir)
		defer st.Close()
		checkHead(t, st, 0, trace.Hash{})
		recs := appendN(t, st, 0, 3, 3)
		checkLog(t, st, recs)
	})
}

func checkReopened(t *testing.T, st trace.Store, recs []*trace.Record, seal *trace.Seal, cp *trace.Checkpoint) {
	t.Helper()
	checkLog(t, st, recs)
	seals, err := st.Seals(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(seals) != 1 {
		t.Fatalf("after reopening, %d seals, want 1", len(seals))
	}
	sameSeal(t, "seal after reopening", seals[0], seal)
	got, err := st.Checkpoint(ctx(t))
	if err != nil || got == nil {
		t.Fatalf("Checkpoint after reopening: %v, %v", got, err)
	}
	if !bytes.Equal(got.SignedBytes(), cp.SignedBytes()) || !bytes.Equal(got.Signature, cp.Signature) {
		t.Fatalf("Checkpoint after reopening = %+v, want %+v", got, cp)
	}
	for _, q := range queryCases() {
		res, err := st.Query(ctx(t), q)
		if err != nil {
			t.Fatal(err)
		}
		var want []*trace.Record
		for _, r := range recs {
			if q.Match(r) {
				want = append(want, r)
			}
		}
		if fmt.Sprint(seqs(res)) != fmt.Sprint(seqs(want)) {
			t.Fatalf("after reopening, Query(%+v) gave %v, want %v", q, seqs(res), seqs(want))
		}
	}
	for _, r := range recs {
		if len(r.Message) == 0 {
			continue
		}
		m, err := st.Reissue(ctx(t), r.Generated[0])
		if err != nil || !bytes.Equal(m, r.Message) {
			t.Fatalf("after reopening, Reissue of the message of record %d: %v", r.Seq, err)
		}
	}
}
