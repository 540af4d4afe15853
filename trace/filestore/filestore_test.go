package filestore

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/tracetest"
)

var _ trace.Store = (*Store)(nil)

func openT(t *testing.T, dir string, opts *Options) *Store {
	t.Helper()
	st, err := Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return st
}

func TestConformance(t *testing.T) {
	tracetest.Run(t, func(t *testing.T) trace.Store { return openT(t, t.TempDir(), nil) })
}

// TestConformanceSmallSegments runs the suite with segments rolled after
// every few records, so that reads, scans and cuts cross segment files.
func TestConformanceSmallSegments(t *testing.T) {
	tracetest.Run(t, func(t *testing.T) trace.Store { return openT(t, t.TempDir(), &Options{SegmentSize: 2048}) })
}

// TestConformancePageCache runs the suite with the records written
// through the page cache (Options.NoDirectIO), as where the file system
// refuses direct I/O, with small segments and without zero filling.
func TestConformancePageCache(t *testing.T) {
	tracetest.Run(t, func(t *testing.T) trace.Store {
		return openT(t, t.TempDir(), &Options{SegmentSize: 2048, ZeroFill: -1, NoDirectIO: true})
	})
}

// TestConformanceGrowing runs the suite with direct writes to segments
// that are not zero-filled: each commit makes the file longer, by whole
// blocks, and Close cuts the zeros off.
func TestConformanceGrowing(t *testing.T) {
	tracetest.Run(t, func(t *testing.T) trace.Store {
		return openT(t, t.TempDir(), &Options{SegmentSize: 2048, ZeroFill: -1})
	})
}

func TestDurable(t *testing.T) {
	tracetest.RunDurable(t, func(t *testing.T, dir string) trace.Store { return openT(t, dir, nil) })
}

func TestDurableSmallSegments(t *testing.T) {
	tracetest.RunDurable(t, func(t *testing.T, dir string) trace.Store { return openT(t, dir, &Options{SegmentSize: 2048}) })
}

func TestDurablePageCache(t *testing.T) {
	tracetest.RunDurable(t, func(t *testing.T, dir string) trace.Store { return openT(t, dir, &Options{NoDirectIO: true}) })
}

// TestConcurrentCut appends, queries, scans, seals and cuts at once, with
// small segments, and checks the log verifies afterwards, before and after
// reopening. Run it with -race.
func TestConcurrentCut(t *testing.T) {
	dir := t.TempDir()
	st := openT(t, dir, &Options{SegmentSize: 4096})
	ctx := context.Background()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 16)
	var next atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 150 {
				i := int(next.Add(2)) - 2
				if err := st.Append(ctx, tracetest.NewRecords(i, 2)...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	readers := func(fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := fn(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	readers(func() error {
		_, err := st.Query(ctx, trace.Query{Address: "dest1@pec.destinatario.it"})
		return err
	})
	readers(func() error {
		seq, _, _ := st.Head(ctx)
		var prev uint64
		return st.Scan(ctx, seq/2, func(r *trace.Record) error {
			if prev != 0 && r.Seq != prev+1 {
				return fmt.Errorf("Scan went from %d to %d", prev, r.Seq)
			}
			prev = r.Seq
			return nil
		})
	})
	readers(func() error {
		_, err := st.Reissue(ctx, tracetest.NewRecord(int(next.Load()) / 2).Generated[0])
		if errors.Is(err, trace.ErrNotFound) {
			return nil
		}
		return err
	})
	var cutAt uint64
	for cuts := 0; cuts < 10; {
		seq, head, _ := st.Head(ctx)
		if seq < cutAt+20 {
			if seq >= 1200 {
				break // the writers are done
			}
			runtime.Gosched()
			continue
		}
		if err := st.AddSeal(ctx, &trace.Seal{Seq: seq, Head: head, Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
		r, err := st.Get(ctx, seq-10)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Cut(ctx, &trace.Checkpoint{Seq: r.Seq, Head: r.Hash, Before: r.Time, Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
		cutAt = r.Seq
		cuts++
	}
	if cutAt == 0 {
		t.Fatal("no cut made")
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	check := func(st trace.Store) {
		cp, _ := st.Checkpoint(ctx)
		seq, head, _ := st.Head(ctx)
		prev, n := cp.Head, cp.Seq
		if err := st.Scan(ctx, 0, func(r *trace.Record) error {
			if r.Seq != n+1 || r.Prev != prev || !r.Check() {
				return fmt.Errorf("chain breaks at %d", r.Seq)
			}
			n, prev = r.Seq, r.Hash
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if n != seq || prev != head {
			t.Fatalf("walk ends at %d, head %d", n, seq)
		}
	}
	check(st)
	st.Close()
	st = openT(t, dir, nil)
	defer st.Close()
	check(st)
}
