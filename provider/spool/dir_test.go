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
		os.WriteFile(filepath.Join(dir, "SPOOL"), []byte("pec spool 3\n"), 0o644)
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
// files untouched, a torn last record of a log dropped, and what a crash
// leaves behind cleaned up.
func TestDamaged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sp := openDir(t, dir)
	for _, id := range []string{"torn", "header", "renamed", "step", "retry", "good", "good2", "tornlog"} {
		mustPut(t, sp, id, "body of "+id)
		mustDone(t, sp, id, "acceptance", "receipt of "+id)
	}
	if _, err := sp.Retry(ctx, "retry", "relay", testNow, "451"); err != nil {
		t.Fatal(err)
	}
	if _, err := sp.Retry(ctx, "good", "relay", testNow, "451"); err != nil {
		t.Fatal(err)
	}
	mustDone(t, sp, "good", "relay", "")
	mustDone(t, sp, "step", "trace", "")
	mustDone(t, sp, "tornlog", "trace", "")
	mustPut(t, sp, "completed", "x")
	mustDone(t, sp, "completed", "acceptance", "y")
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
	// An item's log follows its frame in its file: records begin with
	// PECR.
	record := func(name string) int64 {
		b, _ := os.ReadFile(path(name))
		return int64(bytes.Index(b, []byte("PECR")))
	}
	b, _ := os.ReadFile(path("torn.msg"))
	os.WriteFile(path("torn.msg"), b[:bytes.Index(b, []byte("body of"))+3], 0o640) // the body cut
	flip("header.msg", 20)
	os.Rename(path("renamed.msg"), path("moved.msg"))
	flip("step.msg", record("step.msg")+30)   // the header of the first record: a whole one follows
	flip("retry.msg", record("retry.msg")+25) // the same
	b, _ = os.ReadFile(path("tornlog.msg"))
	os.WriteFile(path("tornlog.msg"), b[:len(b)-5], 0o640) // what a crash during an append leaves
	os.WriteFile(path("notes.txt"), []byte("an operator's notes"), 0o644)
	os.Mkdir(path("sub"), 0o750)
	os.WriteFile(path(".tmp-0123"), []byte("half a message"), 0o640)
	os.WriteFile(path("completed.log"), []byte("a log of the first format"), 0o640)
	snapshot := map[string][]byte{}
	for _, n := range []string{"torn.msg", "header.msg", "moved.msg", "notes.txt", "step.msg", "retry.msg"} {
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
	want := []string{"header.msg", "moved.msg", "notes.txt", "retry.msg", "step.msg", "sub", "torn.msg"}
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
	if !slices.Equal(got, []string{"good", "good2", "tornlog"}) {
		t.Fatalf("Pending: %v, want the three undamaged items", got)
	}
	if st, _ := sp.Get(ctx, "good"); !slices.Equal(st.Steps, []string{"acceptance", "relay"}) || len(st.Retries) != 0 {
		t.Fatalf("good: steps %v, retries %v", st.Steps, st.Retries)
	}
	// The torn record dropped, the log cut before it: the step can be
	// recorded again, and is there after another Open.
	if st, _ := sp.Get(ctx, "tornlog"); !slices.Equal(st.Steps, []string{"acceptance"}) {
		t.Fatalf("tornlog: steps %v, want the torn one dropped", st.Steps)
	}
	if got := string(output(t, sp, "tornlog", "acceptance")); got != "receipt of tornlog" {
		t.Fatalf("tornlog: output %q", got)
	}
	mustDone(t, sp, "tornlog", "trace", "again")
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
	for _, n := range []string{".tmp-0123", "completed.log"} {
		if _, err := os.Stat(path(n)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("Open left %s: %v", n, err)
		}
	}
	d.Close()
	if d, err = spool.Open(ctx, dir, nil); err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	sp = d
	if st, err := sp.Get(ctx, "tornlog"); err != nil || !slices.Equal(st.Steps, []string{"acceptance", "trace"}) {
		t.Fatalf("tornlog after another Open: %v, %v", st, err)
	}
	if got := string(output(t, sp, "tornlog", "trace")); got != "again" {
		t.Fatalf("tornlog: output of the step recorded again %q", got)
	}
}

// output reads the output of step of item id.
func output(t *testing.T, sp spool.Spool, id, step string) []byte {
	t.Helper()
	rc, err := sp.Output(context.Background(), id, step)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBodyDamaged checks that a body damaged on disk is reported by its
// reader, with the file and offset.
func TestBodyDamaged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sp := openDir(t, dir)
	mustPut(t, sp, "q1", strings.Repeat("a body line\r\n", 1000))
	mustDone(t, sp, "q1", "acceptance", strings.Repeat("receipt\r\n", 100))
	mustDone(t, sp, "q1", "trace", "")
	sp.Close()
	// The body, and the output of the first record of the log, which a
	// whole one follows: damage, not a torn tail.
	b, _ := os.ReadFile(filepath.Join(dir, "q1.msg"))
	b[bytes.Index(b, []byte("a body line"))+50] ^= 1
	b[bytes.Index(b, []byte("receipt"))+50] ^= 1
	os.WriteFile(filepath.Join(dir, "q1.msg"), b, 0o640)
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
