package spool_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pecsdk/pec/provider/spool"
)

// stepFile is the name of a step's file, as the package documentation
// gives it.
func stepFile(id, step, suffix string) string {
	h := sha256.Sum256([]byte(step))
	return id + "." + hex.EncodeToString(h[:16]) + suffix
}

func mustPut(t testing.TB, sp spool.Spool, id, body string) {
	t.Helper()
	if err := sp.Put(context.Background(), &spool.Item{ID: id, Role: spool.RoleAccess, To: []string{"a@b.example"}}, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
}

func mustDone(t *testing.T, sp spool.Spool, id, step, out string) {
	t.Helper()
	if err := sp.Done(context.Background(), id, step, strings.NewReader(out)); err != nil {
		t.Fatal(err)
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	t.Run("ForeignDirectory", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "mail.txt"), []byte("x"), 0o644)
		_, err := spool.Open(ctx, dir, nil)
		if !errors.Is(err, spool.ErrNotSpool) {
			t.Fatalf("Open of a directory of other files: %v, want ErrNotSpool", err)
		}
		if got := names(t, dir); !slices.Equal(got, []string{"mail.txt"}) {
			t.Fatalf("Open of a foreign directory wrote to it: %v", got)
		}
	})
	t.Run("OtherVersion", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "SPOOL"), []byte("pec spool 2\n"), 0o644)
		if _, err := spool.Open(ctx, dir, nil); !errors.Is(err, spool.ErrNotSpool) {
			t.Fatalf("Open of a spool of another version: %v, want ErrNotSpool", err)
		}
	})
	t.Run("Locked", func(t *testing.T) {
		dir := t.TempDir()
		sp := openDir(t, dir)
		if _, err := spool.Open(ctx, dir, nil); !errors.Is(err, spool.ErrLocked) {
			t.Fatalf("a second Open: %v, want ErrLocked", err)
		}
		sp.Close()
		openDir(t, dir).Close()
	})
	t.Run("File", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "f")
		os.WriteFile(path, nil, 0o644)
		if _, err := spool.Open(ctx, path, nil); err == nil {
			t.Fatal("Open of a file succeeded")
		}
	})
	t.Run("Created", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a", "spool")
		openDir(t, dir).Close()
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o007 != 0 {
			t.Fatalf("the spool directory: %v, %v; want it made, closed to others", fi, err)
		}
	})
}

// TestDamaged damages the files of a spool in every way Open must
// notice, and checks that the other items are all there, the damaged
// files untouched, and what a crash leaves behind cleaned up.
func TestDamaged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sp := openDir(t, dir)
	for _, id := range []string{"torn", "header", "renamed", "step", "retry", "good", "good2"} {
		mustPut(t, sp, id, "body of "+id)
		mustDone(t, sp, id, "acceptance", "receipt of "+id)
	}
	if _, err := sp.Retry(ctx, "retry", "relay", testNow, "451"); err != nil {
		t.Fatal(err)
	}
	if _, err := sp.Retry(ctx, "good", "relay", testNow, "451"); err != nil {
		t.Fatal(err)
	}
	// What a crash in the middle of Done leaves: the retry of a step
	// done (Done removes it without an fsync).
	retryOfDone, _ := os.ReadFile(filepath.Join(dir, stepFile("good", "relay", ".retry")))
	mustDone(t, sp, "good", "relay", "")
	mustPut(t, sp, "completed", "x")
	mustDone(t, sp, "completed", "acceptance", "y")
	stepOfCompleted, _ := os.ReadFile(filepath.Join(dir, stepFile("completed", "acceptance", ".step")))
	if err := sp.Complete(ctx, "completed"); err != nil {
		t.Fatal(err)
	}
	sp.Close()

	path := func(name string) string { return filepath.Join(dir, name) }
	flip := func(name string, off int64) {
		b, err := os.ReadFile(path(name))
		if err != nil {
			t.Fatal(err)
		}
		if off < 0 {
			off += int64(len(b))
		}
		b[off] ^= 0x20
		os.WriteFile(path(name), b, 0o640)
	}
	b, _ := os.ReadFile(path("torn.msg"))
	os.WriteFile(path("torn.msg"), b[:len(b)-5], 0o640)
	flip("header.msg", 20)
	os.Rename(path("renamed.msg"), path("moved.msg"))
	flip(stepFile("step", "acceptance", ".step"), 20)
	flip(stepFile("retry", "relay", ".retry"), -1)
	os.WriteFile(path("notes.txt"), []byte("an operator's notes"), 0o644)
	os.Mkdir(path("sub"), 0o750)
	os.WriteFile(path(".tmp-0123"), []byte("half a message"), 0o640)
	os.WriteFile(path(stepFile("completed", "acceptance", ".step")), stepOfCompleted, 0o640)
	os.WriteFile(path(stepFile("good", "relay", ".retry")), retryOfDone, 0o640)
	snapshot := map[string][]byte{}
	for _, n := range []string{"torn.msg", "header.msg", "moved.msg", "notes.txt", stepFile("renamed", "acceptance", ".step")} {
		snapshot[n], _ = os.ReadFile(path(n))
	}

	d, err := spool.Open(ctx, dir, nil)
	if err != nil {
		t.Fatalf("Open of a damaged spool: %v", err)
	}
	defer d.Close()
	sp = d
	var damaged []string
	for _, d := range d.Damaged() {
		if !errors.Is(d, spool.ErrCorrupt) {
			t.Fatalf("Damaged: %v does not match ErrCorrupt", d)
		}
		damaged = append(damaged, filepath.Base(d.Path))
		t.Log(d)
	}
	slices.Sort(damaged)
	want := []string{"header.msg", "moved.msg", "notes.txt", stepFile("retry", "relay", ".retry"), stepFile("step", "acceptance", ".step"), "sub", "torn.msg"}
	slices.Sort(want)
	if !slices.Equal(damaged, want) {
		t.Fatalf("Damaged:\n %v\nwant\n %v", damaged, want)
	}
	p, err := sp.Pending(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range p {
		got = append(got, st.Item.ID)
	}
	if !slices.Equal(got, []string{"good", "good2"}) {
		t.Fatalf("Pending: %v, want the two undamaged items", got)
	}
	if st, _ := sp.Get(ctx, "good"); !slices.Equal(st.Steps, []string{"acceptance", "relay"}) || len(st.Retries) != 0 {
		t.Fatalf("good: steps %v, retries %v", st.Steps, st.Retries)
	}
	for _, id := range []string{"torn", "header", "step", "retry", "renamed", "moved"} {
		if _, err := sp.Get(ctx, id); !errors.Is(err, spool.ErrNotFound) {
			t.Fatalf("Get of withheld item %s: %v", id, err)
		}
		if err := sp.Put(ctx, &spool.Item{ID: id}, strings.NewReader("again")); !errors.Is(err, spool.ErrExists) {
			t.Fatalf("Put of the ID of withheld item %s: %v, want ErrExists", id, err)
		}
	}
	for n, b := range snapshot {
		if now, err := os.ReadFile(path(n)); err != nil || !bytes.Equal(now, b) {
			t.Fatalf("Open changed damaged file %s", n)
		}
	}
	for _, n := range []string{".tmp-0123", stepFile("completed", "acceptance", ".step"), stepFile("good", "relay", ".retry")} {
		if _, err := os.Stat(path(n)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("Open left %s: %v", n, err)
		}
	}
}

// TestBodyDamaged checks that a body damaged on disk is reported by its
// reader, with the file and offset.
func TestBodyDamaged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sp := openDir(t, dir)
	mustPut(t, sp, "q1", strings.Repeat("a body line\r\n", 1000))
	mustDone(t, sp, "q1", "acceptance", strings.Repeat("receipt\r\n", 100))
	sp.Close()
	for _, name := range []string{"q1.msg", stepFile("q1", "acceptance", ".step")} {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		b[len(b)-100] ^= 1
		os.WriteFile(filepath.Join(dir, name), b, 0o640)
	}
	sp = openDir(t, dir)
	defer sp.Close()
	for what, open := range map[string]func() (io.ReadCloser, error){
		"Body":   func() (io.ReadCloser, error) { return sp.Body(ctx, "q1") },
		"Output": func() (io.ReadCloser, error) { return sp.Output(ctx, "q1", "acceptance") },
	} {
		rc, err := open()
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(rc)
		rc.Close()
		var ce *spool.CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, spool.ErrCorrupt) || ce.Path == "" {
			t.Fatalf("%s of a damaged file: %v, want a *CorruptError", what, err)
		}
		t.Log(err)
	}
}
