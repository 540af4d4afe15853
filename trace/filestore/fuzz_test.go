package filestore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/tracetest"
)

// FuzzOpen opens a store whose only segment and seals log are the fuzzed
// bytes: Open either refuses them with a *CorruptError (matching
// trace.ErrCorrupt), or gives a store whose every record reads back, whose
// Verify runs, and which opens again to the same head.
func FuzzOpen(f *testing.F) {
	dir := f.TempDir()
	st, err := Open(context.Background(), dir, nil)
	if err != nil {
		f.Fatal(err)
	}
	recs := tracetest.NewRecords(0, 4)
	st.Append(context.Background(), recs[:2]...)
	st.Append(context.Background(), recs[2])
	st.AddSeal(context.Background(), &trace.Seal{Seq: 3, Head: recs[2].Hash, Time: recs[2].Time, Signature: []byte("s")})
	st.Append(context.Background(), recs[3])
	st.Close()
	seg, _ := os.ReadFile(filepath.Join(dir, segName(1)))
	seals, _ := os.ReadFile(filepath.Join(dir, sealsName))
	f.Add(seg, seals)
	f.Add(seg[:len(seg)-7], seals)
	f.Add(seg, seals[:len(seals)-3])
	f.Add(append(seg, make([]byte, 40)...), []byte{})
	f.Add(fileHead(segMagic, 1), fileHead(sealMagic, 0))
	f.Fuzz(func(t *testing.T, seg, seals []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, markerName), []byte(markerText), 0o644)
		os.WriteFile(filepath.Join(dir, segName(1)), seg, 0o644)
		if len(seals) > 0 {
			os.WriteFile(filepath.Join(dir, sealsName), seals, 0o644)
		}
		for _, ro := range []bool{true, false} {
			st, err := Open(context.Background(), dir, &Options{ReadOnly: ro})
			if err != nil {
				var ce *CorruptError
				if !errors.As(err, &ce) || !errors.Is(err, trace.ErrCorrupt) {
					t.Fatalf("Open (read-only %v): %v, want a *CorruptError", ro, err)
				}
				return
			}
			head, _, _ := st.Head(context.Background())
			n := uint64(0)
			if err := st.Scan(context.Background(), 0, func(r *trace.Record) error {
				n++
				if r.Seq != n {
					t.Fatalf("Scan gave record %d at %d", r.Seq, n)
				}
				return nil
			}); err != nil {
				t.Fatalf("Scan of a store that opened: %v", err)
			}
			if n != head {
				t.Fatalf("Scan gave %d records, head %d", n, head)
			}
			if _, err := trace.Verify(context.Background(), st, nil); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			st.Close()
			if !ro {
				again, err := Open(context.Background(), dir, nil)
				if err != nil {
					t.Fatalf("reopening a repaired store: %v", err)
				}
				if h, _, _ := again.Head(context.Background()); h != head || len(again.Recovered()) != 0 {
					t.Fatalf("reopened: head %d, want %d; recovered %v", h, head, again.Recovered())
				}
				again.Close()
			}
		}
	})
}
