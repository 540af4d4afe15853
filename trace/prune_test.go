package trace_test

import (
	"context"
	"crypto/x509"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/memstore"
	"github.com/pecsdk/pec/trace/tracetest"
)

// rewritten shows a store whose records someone without the provider key
// rewrote: Scan and Head give recs instead of what the store holds.
type rewritten struct {
	trace.Store
	recs []*trace.Record
}

func (s *rewritten) Scan(ctx context.Context, from uint64, fn func(*trace.Record) error) error {
	for _, r := range s.recs {
		if r.Seq < from {
			continue
		}
		if err := fn(r.Clone()); err != nil {
			return err
		}
	}
	return nil
}

func (s *rewritten) Head(ctx context.Context) (uint64, trace.Hash, error) {
	l := s.recs[len(s.recs)-1]
	return l.Seq, l.Hash, nil
}

// rechained returns the store's records with record seq changed by f and
// every hash from there recomputed.
func rechained(t *testing.T, st trace.Store, seq uint64, f func(*trace.Record)) []*trace.Record {
	t.Helper()
	var recs []*trace.Record
	if err := st.Scan(t.Context(), 0, func(r *trace.Record) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	prev := trace.Hash{}
	if recs[0].Seq > 1 {
		prev = recs[0].Prev
	}
	for _, r := range recs {
		if r.Seq == seq {
			f(r)
		}
		r.Chain(r.Seq, prev)
		prev = r.Hash
	}
	return recs
}

func providerOpts(t *testing.T, certs ...*x509.Certificate) *trace.VerifyOptions {
	p := tracetest.TestProvider(t)
	if len(certs) == 0 {
		certs = []*x509.Certificate{p.Signer.Certificate()}
	}
	return &trace.VerifyOptions{Certificates: certs, SignatureOptions: &smime.VerifyOptions{Roots: p.PKI.Pool(), CurrentTime: tracetest.VerifyTime()}}
}

func newLog(t *testing.T, n int, sealAt ...int) (*memstore.Store, []*trace.Record) {
	t.Helper()
	st := memstore.New(nil)
	recs := tracetest.NewRecords(0, n)
	if err := st.Append(t.Context(), recs...); err != nil {
		t.Fatal(err)
	}
	p := tracetest.TestProvider(t)
	for _, i := range sealAt {
		s, err := trace.NewSeal(recs[i-1].Seq, recs[i-1].Hash, recs[i-1].Time.Add(time.Minute), p.Signer)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.AddSeal(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	return st, recs
}

// TestPruneChecksWhatItCuts: Prune refuses to sign a checkpoint over a
// prefix Verify rejects, and so keeps the seals that show the rewriting.
func TestPruneChecksWhatItCuts(t *testing.T) {
	p := tracetest.TestProvider(t)
	later := tracetest.Epoch.AddDate(0, 0, 1)
	tests := []struct {
		name string
		st   func(t *testing.T, st trace.Store) trace.Store
		opts func(t *testing.T) *trace.VerifyOptions
		seq  uint64
		kind trace.BreakKind
	}{
		{"Rechained", func(t *testing.T, st trace.Store) trace.Store {
			return &rewritten{st, rechained(t, st, 2, func(r *trace.Record) { r.Subject = "falso" })}
		}, nil, 5, trace.BreakSeal},
		{"RechainedTrusted", func(t *testing.T, st trace.Store) trace.Store {
			return &rewritten{st, rechained(t, st, 7, func(r *trace.Record) { r.Subject = "falso" })}
		}, func(t *testing.T) *trace.VerifyOptions { return providerOpts(t) }, 10, trace.BreakSeal},
		{"SealByAnother", func(t *testing.T, st trace.Store) trace.Store { return st },
			func(t *testing.T) *trace.VerifyOptions { return providerOpts(t, p.Other.Certificate()) }, 5, trace.BreakSeal},
		{"Duplicated", func(t *testing.T, st trace.Store) trace.Store {
			return scanEdit{st, func(r []*trace.Record) []*trace.Record { return slices.Insert(r, 4, r[2]) }}
		}, nil, 3, trace.BreakDuplicated},
		{"Reordered", func(t *testing.T, st trace.Store) trace.Store {
			return scanEdit{st, func(r []*trace.Record) []*trace.Record { r[3], r[4] = r[4], r[3]; return r }}
		}, nil, 4, trace.BreakReordered},
		{"Inserted", func(t *testing.T, st trace.Store) trace.Store {
			forged := tracetest.NewRecord(2)
			forged.Subject = "falso"
			var recs []*trace.Record
			st.Scan(t.Context(), 0, func(r *trace.Record) error { recs = append(recs, r); return nil })
			forged.Chain(3, recs[1].Hash)
			return scanEdit{st, func(r []*trace.Record) []*trace.Record { return slices.Insert(r, 4, forged) }}
		}, nil, 3, trace.BreakInserted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, recs := newLog(t, 12, 5, 10)
			var opts *trace.VerifyOptions
			if tc.opts != nil {
				opts = tc.opts(t)
			}
			bad := tc.st(t, st)
			rep, err := trace.Verify(t.Context(), bad, opts)
			if err != nil || rep.OK() {
				t.Fatalf("Verify of the tampered log: %v, %v; want a break", rep.Err(), err)
			}
			cp, err := trace.Prune(t.Context(), bad, recs[9].Time.Add(time.Nanosecond), p.Signer, later, opts)
			var b *trace.Break
			if cp != nil || !errors.As(err, &b) || !errors.Is(err, trace.ErrBroken) {
				t.Fatalf("Prune of the tampered log: checkpoint %v, %v; want a *Break", cp != nil, err)
			}
			if b.Seq != tc.seq || b.Kind != tc.kind || *b != *rep.Break {
				t.Fatalf("Prune: %v; Verify: %v; want %s at record %d from both", b, rep.Break, tc.kind, tc.seq)
			}
			if got, _ := st.Checkpoint(t.Context()); got != nil {
				t.Fatalf("a refused Prune cut the log: %+v", got)
			}
			if seals, _ := st.Seals(t.Context()); len(seals) != 2 {
				t.Fatalf("a refused Prune left %d seals, want 2", len(seals))
			}
		})
	}
	t.Run("CheckpointSignature", func(t *testing.T) {
		st, recs := newLog(t, 12, 5, 10)
		if _, err := trace.Prune(t.Context(), st, recs[2].Time.Add(time.Nanosecond), p.Signer, later, providerOpts(t)); err != nil {
			t.Fatal(err)
		}
		forged := &checkpointEdit{st, func(c *trace.Checkpoint) { c.Signature[len(c.Signature)-3] ^= 1 }}
		_, err := trace.Prune(t.Context(), forged, recs[7].Time.Add(time.Nanosecond), p.Signer, later, providerOpts(t))
		var b *trace.Break
		if !errors.As(err, &b) || b.Kind != trace.BreakCheckpoint || b.Seq != 3 {
			t.Fatalf("Prune from a checkpoint whose signature fails: %v; want a checkpoint break at 3", err)
		}
		if got, _ := st.Checkpoint(t.Context()); got.Seq != 3 {
			t.Fatalf("a refused Prune moved the checkpoint to %d", got.Seq)
		}
	})
}

type checkpointEdit struct {
	trace.Store
	edit func(*trace.Checkpoint)
}

func (s *checkpointEdit) Checkpoint(ctx context.Context) (*trace.Checkpoint, error) {
	cp, err := s.Store.Checkpoint(ctx)
	if cp != nil {
		s.edit(cp)
	}
	return cp, err
}

// TestPruneRequireSealed: with RequireSealed, Prune cuts only what a
// valid seal commits to, reading on past the cut point to find it.
func TestPruneRequireSealed(t *testing.T) {
	p := tracetest.TestProvider(t)
	opts := providerOpts(t)
	opts.RequireSealed = true
	tests := []struct {
		name   string
		sealAt []int
		want   uint64 // 0: nothing cut
	}{
		{"SealAfterCut", []int{8, 16}, 12},
		{"SealAtCut", []int{12}, 12},
		{"SealBeforeCutOnly", []int{8}, 8},
		{"NoSeal", nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, recs := newLog(t, 20, tc.sealAt...)
			cp, err := trace.Prune(t.Context(), st, recs[11].Time.Add(time.Nanosecond), p.Signer, tracetest.Epoch.AddDate(1, 0, 0), opts)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == 0 && cp != nil:
				t.Fatalf("Prune cut up to %d, an unsealed record", cp.Seq)
			case tc.want != 0 && (cp == nil || cp.Seq != tc.want || cp.Head != recs[tc.want-1].Hash):
				t.Fatalf("Prune made %+v, want a checkpoint at record %d", cp, tc.want)
			}
			if rep, err := trace.Verify(t.Context(), st, providerOpts(t)); err != nil || !rep.OK() {
				t.Fatalf("Verify after Prune: %v, %v", rep.Err(), err)
			}
		})
	}
	t.Run("Unrequired", func(t *testing.T) {
		st, recs := newLog(t, 20, 8)
		cp, err := trace.Prune(t.Context(), st, recs[11].Time.Add(time.Nanosecond), p.Signer, tracetest.Epoch.AddDate(1, 0, 0), providerOpts(t))
		if err != nil || cp == nil || cp.Seq != 12 {
			t.Fatalf("Prune without RequireSealed: %+v, %v; want a checkpoint at 12", cp, err)
		}
	})
}

// cutOnScan makes a Cut of the store it wraps at its first Scan, before
// the walk reads anything: a Prune by someone else, in between.
type cutOnScan struct {
	trace.Store
	once sync.Once
	cut  func()
}

func (s *cutOnScan) Scan(ctx context.Context, from uint64, fn func(*trace.Record) error) error {
	s.once.Do(s.cut)
	return s.Store.Scan(ctx, from, fn)
}

// TestWalkOverlappingCut: a Verify or a Prune whose walk another Prune
// overtakes starts again from the new checkpoint instead of reporting the
// records that Prune cut as removed.
func TestWalkOverlappingCut(t *testing.T) {
	p := tracetest.TestProvider(t)
	later := tracetest.Epoch.AddDate(1, 0, 0)
	pruneTo := func(t *testing.T, st trace.Store, recs []*trace.Record, n int) func() {
		return func() {
			cp, err := trace.Prune(t.Context(), st, recs[n-1].Time.Add(time.Nanosecond), p.Signer, later, providerOpts(t))
			if err != nil || cp == nil || cp.Seq != uint64(n) {
				t.Errorf("the other Prune: %+v, %v", cp, err)
			}
		}
	}
	t.Run("Verify", func(t *testing.T) {
		st, recs := newLog(t, 200, 40, 120)
		rep, err := trace.Verify(t.Context(), &cutOnScan{Store: st, cut: pruneTo(t, st, recs, 50)}, providerOpts(t))
		if err != nil || !rep.OK() {
			t.Fatalf("Verify overtaken by a Prune: %v, %v", rep.Err(), err)
		}
		if rep.Checkpoint == nil || rep.Checkpoint.Seq != 50 || rep.First != 51 || rep.Last != 200 {
			t.Fatalf("Verify walked %d to %d from %+v", rep.First, rep.Last, rep.Checkpoint)
		}
	})
	t.Run("PruneOvertakenFurther", func(t *testing.T) {
		st, recs := newLog(t, 200, 40, 120, 160)
		wrapped := &cutOnScan{Store: st, cut: pruneTo(t, st, recs, 150)}
		cp, err := trace.Prune(t.Context(), wrapped, recs[49].Time.Add(time.Nanosecond), p.Signer, later, providerOpts(t))
		if err != nil || cp != nil {
			t.Fatalf("Prune to 50 overtaken by a Prune to 150: %+v, %v; want nothing left to cut", cp, err)
		}
		if got, _ := st.Checkpoint(t.Context()); got == nil || got.Seq != 150 {
			t.Fatalf("checkpoint %+v, want the other Prune's at 150", got)
		}
	})
	t.Run("PruneOvertakenShorter", func(t *testing.T) {
		st, recs := newLog(t, 200, 40, 120, 160)
		wrapped := &cutOnScan{Store: st, cut: pruneTo(t, st, recs, 50)}
		cp, err := trace.Prune(t.Context(), wrapped, recs[149].Time.Add(time.Nanosecond), p.Signer, later, providerOpts(t))
		if err != nil || cp == nil || cp.Seq != 150 {
			t.Fatalf("Prune to 150 overtaken by a Prune to 50: %+v, %v; want a checkpoint at 150", cp, err)
		}
		if rep, err := trace.Verify(t.Context(), st, providerOpts(t)); err != nil || !rep.OK() || rep.First != 151 {
			t.Fatalf("Verify after: %+v, %v", rep, err)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		for range 10 {
			st, recs := newLog(t, 200, 100, 180)
			var wg sync.WaitGroup
			for _, n := range []int{50, 150} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := trace.Prune(t.Context(), st, recs[n-1].Time.Add(time.Nanosecond), p.Signer, later, providerOpts(t)); err != nil {
						t.Errorf("concurrent Prune to %d: %v", n, err)
					}
				}()
				wg.Add(1)
				go func() {
					defer wg.Done()
					if rep, err := trace.Verify(t.Context(), st, providerOpts(t)); err != nil || !rep.OK() {
						t.Errorf("Verify during Prunes: %v, %v", rep.Err(), err)
					}
				}()
			}
			wg.Wait()
			if cp, _ := st.Checkpoint(t.Context()); cp == nil || cp.Seq != 150 {
				t.Fatalf("after concurrent Prunes to 50 and 150, the checkpoint is %+v", cp)
			}
		}
	})
}
