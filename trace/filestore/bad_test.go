package filestore

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/tracetest"
)

// TestNotOurs: a directory holding anything but a store, or a marker of
// another format, or a path that is a file, is refused with a
// *NotStoreError, and nothing is written to it.
func TestNotOurs(t *testing.T) {
	cases := []struct {
		name  string
		setup func(dir string) string // returns the path to open
	}{
		{"other files", func(dir string) string {
			os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
			return dir
		}},
		{"a subdirectory", func(dir string) string {
			os.Mkdir(filepath.Join(dir, "mail"), 0o755)
			return dir
		}},
		{"other marker", func(dir string) string {
			os.WriteFile(filepath.Join(dir, markerName), []byte("pec trace filestore 9\n"), 0o644)
			return dir
		}},
		{"a file", func(dir string) string {
			p := filepath.Join(dir, "file")
			os.WriteFile(p, []byte("x"), 0o644)
			return p
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tc.setup(dir)
			before := files(t, dir)
			for _, ro := range []bool{false, true} {
				st, err := Open(context.Background(), path, &Options{ReadOnly: ro})
				var ne *NotStoreError
				if !errors.Is(err, ErrNotStore) || !errors.As(err, &ne) {
					if st != nil {
						st.Close()
					}
					t.Fatalf("Open (read-only %v): %v, want a *NotStoreError", ro, err)
				}
				if !strings.Contains(err.Error(), path) {
					t.Errorf("the error does not name the directory: %v", err)
				}
			}
			after := files(t, dir)
			if len(after) != len(before) {
				t.Fatalf("Open wrote to a directory that is not a store: %d entries, had %d", len(after), len(before))
			}
			for n, b := range before {
				if !bytes.Equal(after[n], b) {
					t.Fatalf("Open changed %s", n)
				}
			}
		})
	}
}

// TestLostFound: the root of a file system made for the log, which holds
// only lost+found, becomes a store; the files are not world-readable.
func TestLostFound(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "lost+found"), 0o700)
	st := openT(t, dir, nil)
	if err := st.Append(context.Background(), tracetest.NewRecord(0)); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st = openT(t, dir, nil)
	defer st.Close()
	if seq, _, _ := st.Head(context.Background()); seq != 1 {
		t.Fatalf("head %d after reopening", seq)
	}
	for n := range files(t, dir) {
		if fi, err := os.Stat(filepath.Join(dir, n)); err == nil && !fi.IsDir() && fi.Mode().Perm()&0o007 != 0 {
			t.Errorf("%s is world-accessible: %v", n, fi.Mode())
		}
	}
}

// TestLocked: a second writer is refused while the first holds the store;
// a reader is not.
func TestLocked(t *testing.T) {
	dir := t.TempDir()
	st := openT(t, dir, nil)
	defer st.Close()
	if err := st.Append(context.Background(), tracetest.NewRecords(0, 3)...); err != nil {
		t.Fatal(err)
	}
	if st2, err := Open(context.Background(), dir, nil); !errors.Is(err, ErrLocked) {
		if st2 != nil {
			st2.Close()
		}
		t.Fatalf("second writer: %v, want ErrLocked", err)
	}
	ro := openT(t, dir, &Options{ReadOnly: true})
	defer ro.Close()
	if seq, _, _ := ro.Head(context.Background()); seq != 3 {
		t.Fatalf("reader sees head %d, want 3", seq)
	}
	if err := ro.Append(context.Background(), tracetest.NewRecord(3)); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Append on a read-only store: %v, want ErrReadOnly", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	again := openT(t, dir, nil)
	again.Close()
}

// lastSegment returns the path of the last segment of dir.
func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	names := segNames(files(t, dir))
	return filepath.Join(dir, names[len(names)-1])
}

// TestTornTail: a last segment cut anywhere inside its last frame (a crash
// mid-write) opens with that record gone, the cut reported by Recovered
// and the logger, the file repaired, and the log appendable; every other
// record is intact.
func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	st := openT(t, dir, nil)
	recs := tracetest.NewRecords(0, 6)
	if err := st.Append(context.Background(), recs[:5]...); err != nil {
		t.Fatal(err)
	}
	if err := st.Append(context.Background(), recs[5]); err != nil {
		t.Fatal(err)
	}
	st.Close()
	seg := lastSegment(t, dir)
	whole, _ := os.ReadFile(seg)
	spans := frameSpans(t, whole)
	lastFrame := spans[len(spans)-1]
	for cut := lastFrame.off + 1; cut < lastFrame.end; cut += max(1, (lastFrame.end-lastFrame.off)/17) {
		c := t.TempDir()
		for n, b := range files(t, dir) {
			if n == filepath.Base(seg) {
				b = b[:cut]
			}
			os.WriteFile(filepath.Join(c, n), b, 0o644)
		}
		var logged bytes.Buffer
		st := openT(t, c, &Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
		rec := st.Recovered()
		if len(rec) != 1 || rec[0].Seq != 6 || rec[0].Offset != lastFrame.off || rec[0].Dropped != cut-lastFrame.off {
			t.Fatalf("cut at %d: Recovered = %+v, want record 6 dropped from %d", cut, rec, lastFrame.off)
		}
		if !strings.Contains(logged.String(), "level=WARN") || !strings.Contains(logged.String(), "recovered") {
			t.Fatalf("cut at %d: the recovery was not logged: %q", cut, logged.String())
		}
		checkRecords(t, st, recs[:5])
		next := tracetest.NewRecord(6)
		if err := st.Append(context.Background(), next); err != nil || next.Seq != 6 || next.Prev != recs[4].Hash {
			t.Fatalf("cut at %d: Append after recovery: %v, Seq %d", cut, err, next.Seq)
		}
		st.Close()
		st = openT(t, c, nil)
		if len(st.Recovered()) != 0 {
			t.Fatalf("cut at %d: the repair did not stick: %+v", cut, st.Recovered())
		}
		checkRecords(t, st, append(recs[:5:5], next))
		st.Close()
	}
}

// TestTornAppend: of an Append of three records, the first two frames
// whole and the last cut: none of the three is kept (an Append is kept
// whole or not at all).
func TestTornAppend(t *testing.T) {
	dir := t.TempDir()
	st := openT(t, dir, nil)
	recs := tracetest.NewRecords(0, 5)
	st.Append(context.Background(), recs[:2]...)
	st.Append(context.Background(), recs[2:]...)
	st.Close()
	seg := lastSegment(t, dir)
	b, _ := os.ReadFile(seg)
	spans := frameSpans(t, b)
	os.WriteFile(seg, b[:spans[4].end-3], 0o644)
	st = openT(t, dir, nil)
	defer st.Close()
	rec := st.Recovered()
	if len(rec) != 1 || rec[0].Seq != 3 || rec[0].Records != 2 || rec[0].Offset != spans[2].off {
		t.Fatalf("Recovered = %+v, want records 3 to 5 dropped", rec)
	}
	checkRecords(t, st, recs[:2])
}

// TestTornZeros: zero bytes after the last frame are the padding a segment
// is made with: the store opens with nothing recovered and goes on after
// the last record. A header of zeros followed by anything else is what a
// torn write leaves in the padding: it is cut away and reported.
func TestTornZeros(t *testing.T) {
	for _, tail := range []string{"zeros", "zero header, then data"} {
		t.Run(tail, func(t *testing.T) {
			dir := t.TempDir()
			st := openT(t, dir, nil)
			recs := tracetest.NewRecords(0, 4)
			st.Append(context.Background(), recs...)
			st.Close()
			seg := lastSegment(t, dir)
			b, _ := os.ReadFile(seg)
			end := frameSpans(t, b)[3].end
			b = append(b[:end], make([]byte, 5000)...)
			if tail != "zeros" {
				b[end+frameHeader+100] = 'x'
			}
			os.WriteFile(seg, b, 0o644)
			st = openT(t, dir, nil)
			rec := st.Recovered()
			switch {
			case tail == "zeros" && len(rec) != 0:
				t.Fatalf("Recovered = %+v, want nothing: zeros are padding", rec)
			case tail != "zeros" && (len(rec) != 1 || rec[0].Dropped != 5000 || rec[0].Seq != 5 || rec[0].Offset != end):
				t.Fatalf("Recovered = %+v, want 5000 bytes dropped at %d where record 5 would be", rec, end)
			}
			checkRecords(t, st, recs)
			more := tracetest.NewRecord(4)
			if err := st.Append(context.Background(), more); err != nil || more.Seq != 5 {
				t.Fatalf("Append: %v, Seq %d", err, more.Seq)
			}
			st.Close()
			st = openT(t, dir, nil)
			defer st.Close()
			if rec := st.Recovered(); len(rec) != 0 {
				t.Fatalf("reopened: Recovered = %+v", rec)
			}
			checkRecords(t, st, append(recs[:4:4], more))
		})
	}
}

// TestTornNewSegment: a segment created by a roll but whose header never
// reached the disk is removed.
func TestTornNewSegment(t *testing.T) {
	for _, content := range [][]byte{nil, make([]byte, 7), make([]byte, fileHeader+30)} {
		dir := t.TempDir()
		st := openT(t, dir, nil)
		recs := tracetest.NewRecords(0, 4)
		st.Append(context.Background(), recs...)
		st.Close()
		empty := filepath.Join(dir, segName(5))
		os.WriteFile(empty, content, 0o644)
		st = openT(t, dir, nil)
		if rec := st.Recovered(); len(rec) != 1 || rec[0].File != empty {
			t.Fatalf("Recovered = %+v, want the new segment removed", rec)
		}
		if _, err := os.Stat(empty); !os.IsNotExist(err) {
			t.Fatalf("the torn segment is still there: %v", err)
		}
		checkRecords(t, st, recs)
		more := tracetest.NewRecord(4)
		if err := st.Append(context.Background(), more); err != nil || more.Seq != 5 {
			t.Fatalf("Append after the repair: %v, Seq %d", err, more.Seq)
		}
		st.Close()
	}
}

// TestTornSealed: a torn-looking tail that a seal covers is not a crash
// (the seal was made after the record was durable): it is refused, not
// dropped.
func TestTornSealed(t *testing.T) {
	dir := t.TempDir()
	st := openT(t, dir, nil)
	recs := tracetest.NewRecords(0, 4)
	for _, r := range recs {
		st.Append(context.Background(), r)
	}
	st.AddSeal(context.Background(), &trace.Seal{Seq: 4, Head: recs[3].Hash, Time: recs[3].Time})
	st.Close()
	seg := lastSegment(t, dir)
	b, _ := os.ReadFile(seg)
	b = b[:frameSpans(t, b)[3].end] // the frames, without the zero padding
	os.WriteFile(seg, b[:len(b)-10], 0o644)
	_, err := Open(context.Background(), dir, nil)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Seq != 4 || !errors.Is(err, trace.ErrCorrupt) {
		t.Fatalf("Open of a log whose sealed last record is cut: %v, want a *CorruptError at record 4", err)
	}
	if nb, _ := os.ReadFile(seg); len(nb) != len(b)-10 {
		t.Fatal("Open changed the damaged segment")
	}
}

// TestTooLarge: a record over Options.MaxRecordSize fails its whole
// Append with ErrTooLarge, and nothing of it reaches the disk.
func TestTooLarge(t *testing.T) {
	dir := t.TempDir()
	st := openT(t, dir, &Options{MaxRecordSize: 2000})
	recs := tracetest.NewRecords(0, 2)
	if err := st.Append(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
	before := files(t, dir)
	for _, size := range []int{1990, 2001, 1 << 20} {
		big := tracetest.NewRecord(2)
		big.Message = bytes.Repeat([]byte("m"), size)
		big.MessageRef, big.MessageHash = "", trace.Hash{}
		for _, batch := range [][]*trace.Record{{big}, {tracetest.NewRecord(3), big}, {big, tracetest.NewRecord(3)}} {
			err := st.Append(context.Background(), batch...)
			if !errors.Is(err, trace.ErrTooLarge) {
				t.Fatalf("Append of a %d-byte message (batch of %d): %v, want ErrTooLarge", size, len(batch), err)
			}
			if !strings.Contains(err.Error(), "2000") {
				t.Errorf("the error does not say the limit: %v", err)
			}
			if batch[0].Seq != 0 {
				t.Fatalf("a refused record was given Seq %d", batch[0].Seq)
			}
		}
	}
	after := files(t, dir)
	for n, b := range before {
		if !bytes.Equal(after[n], b) {
			t.Fatalf("a refused Append changed %s", n)
		}
	}
	ok := tracetest.NewRecord(2)
	if err := st.Append(context.Background(), ok); err != nil || ok.Seq != 3 {
		t.Fatalf("Append after refusals: %v, Seq %d", err, ok.Seq)
	}
	st.Close()
	st = openT(t, dir, nil)
	defer st.Close()
	checkRecords(t, st, append(recs, ok))
}

// checkRecords fails unless the store holds exactly want and verifies.
func checkRecords(t *testing.T, st *Store, want []*trace.Record) {
	t.Helper()
	var got []*trace.Record
	if err := st.Scan(context.Background(), 0, func(r *trace.Record) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		a, _ := got[i].MarshalBinary()
		b, _ := want[i].MarshalBinary()
		if !bytes.Equal(a, b) {
			t.Fatalf("record %d differs", want[i].Seq)
		}
	}
	rep, err := trace.Verify(context.Background(), st, nil)
	if err != nil || !rep.OK() {
		t.Fatalf("Verify: %v %v", rep.Err(), err)
	}
}
