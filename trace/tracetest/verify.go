package tracetest

import (
	"testing"

	"github.com/pecsdk/pec/trace"
)

// checkVerify fails the test unless the chain the store holds is whole:
// from the checkpoint (or the start), contiguous, linked and intact.
func checkVerify(t *testing.T, st trace.Store) {
	t.Helper()
	cp, err := st.Checkpoint(ctx(t))
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	var seq uint64
	var prev trace.Hash
	if cp != nil {
		seq, prev = cp.Seq, cp.Head
	}
	for _, r := range scanAll(t, st) {
		if r.Seq != seq+1 || r.Prev != prev || !r.Check() {
			t.Fatalf("the chain breaks at record %d (want %d)", r.Seq, seq+1)
		}
		seq, prev = r.Seq, r.Hash
	}
	checkHead(t, st, seq, prev)
}
