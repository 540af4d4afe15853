package spool

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// TestFailedSync makes the directory fsync fail (its descriptor closed
// under the spool): the call whose commit it was fails and leaves
// nothing, every later write is refused with ErrFailed, reads go on, and
// a reopened spool works again.
func TestFailedSync(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx, &Item{ID: "q1"}, strings.NewReader("one")); err != nil {
		t.Fatal(err)
	}
	d.syncer.f.Close() // the next fsync fails with EBADF
	err = d.Put(ctx, &Item{ID: "q2"}, strings.NewReader("two"))
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("Put whose directory fsync fails: %v, want ErrFailed", err)
	}
	if _, err := os.Stat(d.itemPath("q2")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the item whose commit failed is left on disk: %v", err)
	}
	for what, err := range map[string]error{
		"Put":      d.Put(ctx, &Item{ID: "q3"}, strings.NewReader("three")),
		"Done":     d.Done(ctx, "q1", "acceptance", nil),
		"Complete": d.Complete(ctx, "q1"),
	} {
		if !errors.Is(err, ErrFailed) {
			t.Fatalf("%s after a failed fsync: %v, want ErrFailed", what, err)
		}
	}
	if _, err := d.Retry(ctx, "q1", "relay", time.Now(), ""); !errors.Is(err, ErrFailed) {
		t.Fatalf("Retry after a failed fsync: %v, want ErrFailed", err)
	}
	if st, err := d.Get(ctx, "q1"); err != nil || st.Size != 3 {
		t.Fatalf("Get after a failed fsync: %v, %v", st, err)
	}
	d.Close()

	d, err = Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p, _ := d.Pending(ctx, nil)
	if len(p) != 1 || p[0].Item.ID != "q1" {
		t.Fatalf("Pending after reopening: %d items", len(p))
	}
	if err := d.Done(ctx, "q1", "acceptance", nil); err != nil {
		t.Fatalf("Done after reopening: %v", err)
	}
}
