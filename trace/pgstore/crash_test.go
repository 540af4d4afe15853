package pgstore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/pgstore"
	"github.com/pecsdk/pec/trace/pgstore/pgtest"
	"github.com/pecsdk/pec/trace/tracetest"
)

// TestServerCrash kills every process of the server at once (SIGKILL)
// while writers append, restarts it, and checks that every append that
// returned is there, intact and chained; three times over.
func TestServerCrash(t *testing.T) {
	srv := pgtest.NewServer(t)
	db, _, err := pgtest.CreateDB(ctx(t), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		acked = map[uint64]trace.Hash{}
		next  atomic.Int64
	)
	for round := range 3 {
		st, err := pgstore.Open(ctx(t), db, &pgstore.Options{CommitTimeout: 20 * time.Second})
		if err != nil {
			t.Fatalf("round %d: Open: %v", round, err)
		}
		progress := make(chan struct{}, 1<<16)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					r := tracetest.NewRecord(int(next.Add(1)))
					c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					err := st.Append(c, r)
					cancel()
					if err != nil {
						return // the server is gone
					}
					mu.Lock()
					acked[r.Seq] = r.Hash
					mu.Unlock()
					select {
					case progress <- struct{}{}:
					default:
					}
				}
			}()
		}
		for range 150 {
			<-progress
		}
		if err := srv.Kill(); err != nil {
			t.Fatalf("round %d: kill: %v", round, err)
		}
		wg.Wait()
		st.Close()
		if err := srv.Restart(ctx(t)); err != nil {
			t.Fatalf("round %d: restart: %v", round, err)
		}

		st, err = pgstore.Open(ctx(t), db, nil)
		if err != nil {
			t.Fatalf("round %d: Open after the crash: %v", round, err)
		}
		found := 0
		var prev trace.Hash
		err = st.Scan(ctx(t), 0, func(r *trace.Record) error {
			found++
			if r.Seq != uint64(found) || r.Prev != prev || !r.Check() {
				return fmt.Errorf("the chain breaks at record %d", found)
			}
			prev = r.Hash
			mu.Lock()
			h, ok := acked[r.Seq]
			mu.Unlock()
			if ok && h != r.Hash {
				return fmt.Errorf("record %d is not the one acknowledged", r.Seq)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		mu.Lock()
		for seq := range acked {
			if seq > uint64(found) {
				t.Fatalf("round %d: acknowledged record %d lost (the log has %d)", round, seq, found)
			}
		}
		t.Logf("round %d: %d records acknowledged, %d in the log after the crash", round, len(acked), found)
		mu.Unlock()
		if seq, head, err := st.Head(ctx(t)); err != nil || seq != uint64(found) || head != prev {
			t.Fatalf("round %d: Head (%d, %v) is not the last record %d", round, seq, err, found)
		}
		st.Close()
	}
}
