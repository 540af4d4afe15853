package spool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
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

// TestKeptReaders: the readers of a body and an output read through the
// kept file stay usable after Complete and after Close, and a body
// damaged on disk is still reported with a *CorruptError.
func TestKeptReaders(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, id := range []string{"r1", "r2", "r3"} {
		if err := d.Put(ctx, &Item{ID: id}, strings.NewReader("body of "+id)); err != nil {
			t.Fatal(err)
		}
		if err := d.Done(ctx, id, "s", strings.NewReader("output of "+id)); err != nil {
			t.Fatal(err)
		}
	}
	read := func(rc io.ReadCloser, head []byte, want string) {
		t.Helper()
		rest, err := io.ReadAll(rc)
		rc.Close()
		if got := string(head) + string(rest); err != nil || got != want {
			t.Fatalf("read %q, %v; want %q", got, err, want)
		}
	}
	body, err := d.Body(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	out, err := d.Output(ctx, "r1", "s")
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 3)
	if _, err := io.ReadFull(body, head); err != nil {
		t.Fatal(err)
	}
	if err := d.Complete(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	read(body, head, "body of r1")
	read(out, nil, "output of r1")

	// Damage r3's body behind the spool's back.
	f, err := os.OpenFile(d.itemPath("r3"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	e := d.tab.get("r3")
	if _, err := f.WriteAt([]byte("X"), e.bodySpan.off); err != nil {
		t.Fatal(err)
	}
	f.Close()
	rc, err := d.Body(ctx, "r3")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	rc.Close()
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("reading a damaged body: %v, want a *CorruptError", err)
	}

	body, err = d.Body(ctx, "r2")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	read(body, nil, "body of r2")
}
