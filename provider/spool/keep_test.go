package spool

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestKeptFiles: the item files kept open for their steps are at most
// maxOpen, the items beyond it are written by opening their file each
// time, Complete closes what it kept, and so does Close.
func TestKeptFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := maxOpen + 20
	for i := range n {
		id := fmt.Sprintf("k%d", i)
		if err := d.Put(ctx, &Item{ID: id}, strings.NewReader("body")); err != nil {
			t.Fatal(err)
		}
		if err := d.Done(ctx, id, "one", strings.NewReader("out")); err != nil {
			t.Fatal(err)
		}
	}
	if got := d.files.Load(); got > maxOpen {
		t.Fatalf("%d item files open, want at most %d", got, maxOpen)
	}
	for i := range n {
		id := fmt.Sprintf("k%d", i)
		if i%2 == 0 {
			if err := d.Complete(ctx, id); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := d.Done(ctx, id, "two", strings.NewReader("out2")); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := d.files.Load(), int32(n/2); got > want {
		t.Fatalf("%d item files open for %d items", got, want)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if got := d.files.Load(); got != 0 {
		t.Fatalf("%d item files open after Close", got)
	}

	d, err = Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p, err := d.Pending(ctx, nil)
	if err != nil || len(p) != n/2 {
		t.Fatalf("Pending after reopening: %d items, %v; want %d", len(p), err, n/2)
	}
	for _, st := range p {
		if !st.Done("one") || !st.Done("two") {
			t.Fatalf("item %s: steps %v", st.Item.ID, st.Steps)
		}
		rc, err := d.Output(ctx, st.Item.ID, "two")
		if err != nil {
			t.Fatal(err)
		}
		b, err := readAll(ctx, rc)
		rc.Close()
		if err != nil || string(b) != "out2" {
			t.Fatalf("output of %s: %q, %v", st.Item.ID, b, err)
		}
	}
}
