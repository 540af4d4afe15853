package trace_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/memstore"
	"github.com/pecsdk/pec/trace/tracetest"
)

// scanEdit shows a store's records changed by edit.
type scanEdit struct {
	trace.Store
	edit func([]*trace.Record) []*trace.Record
}

func (s scanEdit) Scan(ctx context.Context, from uint64, fn func(*trace.Record) error) error {
	var recs []*trace.Record
	if err := s.Store.Scan(ctx, from, func(r *trace.Record) error { recs = append(recs, r); return nil }); err != nil {
		return err
	}
	for _, r := range s.edit(recs) {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// TestVerifyLong checks what Verify tells apart on a log longer than the
// window of recent hashes it keeps.
func TestVerifyLong(t *testing.T) {
	st := memstore.New(nil)
	const n = 3000
	for i := 0; i < n; i += 500 {
		if err := st.Append(t.Context(), tracetest.NewRecords(i, 500)...); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := trace.Verify(t.Context(), st, nil)
	if err != nil || !rep.OK() || rep.Records != n || rep.Sealed != 0 || rep.Unsealed() != n {
		t.Fatalf("Verify: %+v, %v", rep, err)
	}
	tests := []struct {
		name string
		edit func([]*trace.Record) []*trace.Record
		seq  uint64
		kind trace.BreakKind
	}{
		{"DuplicatedFarBack", func(r []*trace.Record) []*trace.Record { return append(r, r[0]) }, 1, trace.BreakDuplicated},
		{"DuplicatedRecent", func(r []*trace.Record) []*trace.Record { return append(r, r[n-1000]) }, n - 999, trace.BreakDuplicated},
		{"MovedFar", func(r []*trace.Record) []*trace.Record {
			x := r[10]
			r = append(r[:10:10], r[11:]...)
			return append(r, x)
		}, 11, trace.BreakReordered},
		{"RemovedRun", func(r []*trace.Record) []*trace.Record { return append(r[:100:100], r[1600:]...) }, 101, trace.BreakRemoved},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := trace.Verify(t.Context(), scanEdit{st, tc.edit}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if b := rep.Break; b == nil || b.Seq != tc.seq || b.Kind != tc.kind {
				t.Fatalf("Verify: %v; want %s at %d", rep.Err(), tc.kind, tc.seq)
			}
		})
	}
}

// TestVerifyWhileAppending: appends made during a walk are never a break.
func TestVerifyWhileAppending(t *testing.T) {
	st := memstore.New(nil)
	p := tracetest.TestProvider(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if err := st.Append(t.Context(), tracetest.NewRecords(w*1000+i*2, 2)...); err != nil {
					t.Error(err)
					return
				}
				if i%10 == 0 {
					if _, err := trace.SealHead(t.Context(), st, p.Signer, tracetest.Epoch); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	for range 20 {
		rep, err := trace.Verify(t.Context(), st, &trace.VerifyOptions{Certificate: p.Signer.Certificate()})
		if err != nil || !rep.OK() {
			t.Fatalf("Verify during appends: %v, %v", rep.Err(), err)
		}
	}
	wg.Wait()
	rep, err := trace.Verify(t.Context(), st, nil)
	if err != nil || !rep.OK() || rep.Records != 400 {
		t.Fatalf("Verify after: %+v, %v", rep, err)
	}
	if !errors.Is(&trace.Break{Kind: trace.BreakSeal}, trace.ErrSealMismatch) || errors.Is(&trace.Break{Kind: trace.BreakAltered}, trace.ErrSealMismatch) {
		t.Fatal("Break matches ErrSealMismatch for the wrong kinds")
	}
}
