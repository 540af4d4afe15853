package spooltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pecsdk/pec/provider/spool"
)

func testCanceled(t *testing.T, sp spool.Spool) {
	put(t, sp, newItem("q1"), 1, 100)
	gone, cancel := context.WithCancel(ctx(t))
	cancel()
	if err := sp.Put(gone, newItem("q2"), newGen(2, 100)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a canceled context: %v", err)
	}
	if err := sp.Done(gone, "q1", "acceptance", bytes.NewReader([]byte("r"))); !errors.Is(err, context.Canceled) {
		t.Fatalf("Done with a canceled context: %v", err)
	}
	if _, err := sp.Retry(gone, "q1", "relay", testTime, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Retry with a canceled context: %v", err)
	}
	if err := sp.Complete(gone, "q1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Complete with a canceled context: %v", err)
	}

	// Canceled in the middle of the body: nothing stored.
	mid, cancel := context.WithCancel(ctx(t))
	err := sp.Put(mid, newItem("q3"), &hookReader{r: newGen(3, 4<<20), n: 1 << 20, hook: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put canceled while reading the body: %v", err)
	}
	mid, cancel = context.WithCancel(ctx(t))
	err = sp.Done(mid, "q1", "transport", &hookReader{r: newGen(4, 4<<20), n: 1 << 20, hook: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Done canceled while reading the output: %v", err)
	}

	for _, id := range []string{"q2", "q3"} {
		_, err := sp.Get(ctx(t), id)
		isNotFound(t, "Get of an item whose Put was canceled", err)
	}
	st := get(t, sp, "q1")
	if len(st.Steps) != 0 || len(st.Retries) != 0 {
		t.Fatalf("canceled calls changed the item: steps %q, retries %v", st.Steps, st.Retries)
	}
	if p, _ := sp.Pending(ctx(t), nil); len(p) != 1 {
		t.Fatalf("Pending after canceled calls: %v", ids(p))
	}
	put(t, sp, newItem("q3"), 5, 100)
	checkBody(t, sp, "q3", 5, 100)
}

// testConcurrent runs Puts, Dones, Retries, reads and Completes from many
// goroutines at once, then checks everything acknowledged.
func testConcurrent(t *testing.T, sp spool.Spool) {
	const workers, each = 24, 6
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- func() error {
				for i := range each {
					id := fmt.Sprintf("w%d-%d", w, i)
					seed := uint64(w*100 + i)
					if err := sp.Put(ctx(t), newItem(id), newGen(seed, int64(1000+seed))); err != nil {
						return err
					}
					for _, step := range []string{"acceptance", "envelope", "trace"} {
						if err := sp.Done(ctx(t), id, step, bytes.NewReader([]byte(id+step))); err != nil {
							return err
						}
					}
					if _, err := sp.Retry(ctx(t), id, "relay", testTime, id); err != nil {
						return err
					}
					if _, err := sp.Pending(ctx(t), nil); err != nil {
						return err
					}
					if i%2 == 1 {
						if err := sp.Complete(ctx(t), id); err != nil {
							return err
						}
					}
				}
				return nil
			}()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	p, err := sp.Pending(ctx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != workers*each/2 {
		t.Fatalf("Pending: %d items, want %d", len(p), workers*each/2)
	}
	for w := range workers {
		for i := 0; i < each; i += 2 {
			id := fmt.Sprintf("w%d-%d", w, i)
			seed := uint64(w*100 + i)
			checkBody(t, sp, id, seed, int64(1000+seed))
			st := get(t, sp, id)
			if fmt.Sprint(st.Steps) != "[acceptance envelope trace]" || len(st.Retries) != 1 || st.Retries[0].Cause != id {
				t.Fatalf("item %s: steps %q, retries %v", id, st.Steps, st.Retries)
			}
			if got := output(t, sp, id, "envelope"); string(got) != id+"envelope" {
				t.Fatalf("item %s: output %q", id, got)
			}
		}
	}
}

// testSameStep records one step from many goroutines at once, each with
// its own output: every call succeeds and one output wins for all.
func testSameStep(t *testing.T, sp spool.Spool) {
	put(t, sp, newItem("q1"), 1, 100)
	const n = 32
	var wg sync.WaitGroup
	var failed atomic.Value
	outs := make([][]byte, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sp.Done(ctx(t), "q1", "acceptance", bytes.NewReader([]byte(fmt.Sprintf("receipt %d", i)))); err != nil {
				failed.Store(err)
				return
			}
			rc, err := sp.Output(ctx(t), "q1", "acceptance")
			if err != nil {
				failed.Store(err)
				return
			}
			defer rc.Close()
			outs[i], _ = io.ReadAll(rc)
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		t.Fatalf("concurrent Done of one step: %v", err)
	}
	for i := range n {
		if !bytes.Equal(outs[i], outs[0]) {
			t.Fatalf("after concurrent Dones, caller %d read %q and caller 0 %q", i, outs[i], outs[0])
		}
	}
	var winner int
	if _, err := fmt.Sscanf(string(outs[0]), "receipt %d", &winner); err != nil || winner < 0 || winner >= n {
		t.Fatalf("the output kept is %q, none of those given", outs[0])
	}
}

// testSameID puts one ID from many goroutines at once: one succeeds.
func testSameID(t *testing.T, sp spool.Spool) {
	const n = 16
	var wg sync.WaitGroup
	var ok, exist atomic.Int32
	var other atomic.Value
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			it := newItem("q1")
			it.User = fmt.Sprint(i)
			switch err := sp.Put(ctx(t), it, newGen(uint64(i), 50_000)); {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, spool.ErrExists):
				exist.Add(1)
			default:
				other.Store(err)
			}
		}()
	}
	wg.Wait()
	if err := other.Load(); err != nil {
		t.Fatal(err)
	}
	if ok.Load() != 1 || exist.Load() != n-1 {
		t.Fatalf("concurrent Puts of one ID: %d succeeded, %d refused with ErrExists; want 1 and %d", ok.Load(), exist.Load(), n-1)
	}
	st := get(t, sp, "q1")
	var i uint64
	fmt.Sscan(st.Item.User, &i)
	checkBody(t, sp, "q1", i, 50_000)
}

func testClose(t *testing.T, sp spool.Spool) {
	put(t, sp, newItem("q1"), 1, 100)
	if err := sp.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := sp.Close(); err != nil {
		t.Fatalf("Close twice: %v", err)
	}
	closed := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, spool.ErrClosed) {
			t.Fatalf("%s after Close: %v, want ErrClosed", what, err)
		}
	}
	closed("Put", sp.Put(ctx(t), newItem("q2"), failReader{t, "Put after Close"}))
	_, err := sp.Get(ctx(t), "q1")
	closed("Get", err)
	_, err = sp.Body(ctx(t), "q1")
	closed("Body", err)
	closed("Done", sp.Done(ctx(t), "q1", "acceptance", failReader{t, "Done after Close"}))
	_, err = sp.Output(ctx(t), "q1", "acceptance")
	closed("Output", err)
	_, err = sp.Retry(ctx(t), "q1", "relay", testTime, "")
	closed("Retry", err)
	_, err = sp.Pending(ctx(t), nil)
	closed("Pending", err)
	closed("Complete", sp.Complete(ctx(t), "q1"))
}

// slowReader yields a kilobyte every millisecond, without end.
type slowReader struct{ read atomic.Int64 }

func (s *slowReader) Read(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	n := min(len(p), 1024)
	clear(p[:n])
	s.read.Add(int64(n))
	return n, nil
}

func testCloseInterrupts(t *testing.T, sp spool.Spool) {
	body := &slowReader{}
	res := make(chan error, 1)
	go func() { res <- sp.Put(ctx(t), newItem("q1"), body) }()
	for body.read.Load() < 20<<10 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan error, 1)
	go func() { closed <- sp.Close() }()
	select {
	case err := <-res:
		if !errors.Is(err, spool.ErrClosed) {
			t.Fatalf("Put interrupted by Close: %v, want an error matching ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not interrupt a Put reading its body")
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
}
