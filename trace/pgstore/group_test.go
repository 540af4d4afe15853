package pgstore

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/pgstore/pgtest"
	"github.com/pecsdk/pec/trace/tracetest"
)

// commits counts the store's commits, from its debug log.
type commits struct{ n atomic.Int64 }

func (c *commits) Enabled(context.Context, slog.Level) bool { return true }
func (c *commits) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "pgstore: committed" {
		c.n.Add(1)
	}
	return nil
}
func (c *commits) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *commits) WithGroup(string) slog.Handler      { return c }

// TestGroupCommit holds the head lock from another session while 16
// appends arrive: the first waits for it in its transaction, the 15 others
// queue, and once the lock is released they share the second commit.
func TestGroupCommit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := pgtest.DB(t)
	n := &commits{}
	st, err := Open(ctx, db, &Options{Logger: slog.New(n)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	c, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1 FROM pec_trace.head FOR UPDATE"); err != nil {
		t.Fatal(err)
	}

	const writers = 16
	recs := tracetest.NewRecords(0, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	start := func(i int) {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = st.Append(ctx, recs[i]) }()
	}
	waitFor := func(what string, done func() (bool, error)) {
		for {
			ok, err := done()
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				return
			}
			if ctx.Err() != nil {
				t.Fatalf("waiting for %s: %v", what, ctx.Err())
			}
			time.Sleep(time.Millisecond)
		}
	}
	// The first append's transaction waits for the lock...
	start(0)
	waitFor("the first transaction to wait for the head lock", func() (bool, error) {
		var n int
		err := c.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		return n == 1, err
	})
	// ... while the others queue behind it.
	for i := 1; i < writers; i++ {
		start(i)
	}
	waitFor("the other appends to queue", func() (bool, error) {
		st.mu.Lock()
		defer st.mu.Unlock()
		return len(st.queue) == writers-1, nil
	})
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	if got := n.n.Load(); got != 2 {
		t.Fatalf("%d appends took %d commits, want 2", writers, got)
	}
	seen := map[uint64]bool{}
	for _, r := range recs {
		seen[r.Seq] = true
	}
	for seq := uint64(1); seq <= writers; seq++ {
		if !seen[seq] {
			t.Fatalf("no append got Seq %d", seq)
		}
	}
	if seq, _, err := st.Head(ctx); err != nil || seq != writers {
		t.Fatalf("Head %d, %v", seq, err)
	}
	var prev trace.Hash
	if err := st.Scan(ctx, 0, func(r *trace.Record) error {
		if r.Prev != prev || !r.Check() {
			t.Fatalf("the chain breaks at %d", r.Seq)
		}
		prev = r.Hash
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
