package filestore

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/pectest"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/tracetest"
)

// testSigner returns a provider signer of a fresh test PKI.
func testSigner(t testing.TB) *smime.Signer {
	t.Helper()
	pki, err := pectest.NewPKI("Trace Test CA")
	if err != nil {
		t.Fatal(err)
	}
	signer, _, err := pki.NewProvider("Gestore di Prova", "posta-certificata@pec.example.it", nil)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

// smallLog builds a store of nine records over several segments, one call
// of two records among single ones, sealed (with signed seals) at record 5
// and at the head.
func smallLog(t *testing.T, signer *smime.Signer) (string, []*trace.Record) {
	t.Helper()
	dir := t.TempDir()
	st := openT(t, dir, &Options{SegmentSize: 1200})
	recs := tracetest.NewRecords(0, 9)
	calls := [][]*trace.Record{{recs[0]}, {recs[1]}, {recs[2]}, {recs[3], recs[4]}, {recs[5]}, {recs[6]}, {recs[7]}, {recs[8]}}
	for _, c := range calls {
		if err := st.Append(context.Background(), c...); err != nil {
			t.Fatal(err)
		}
		if last := c[len(c)-1]; last.Seq == 5 || last.Seq == 9 {
			seal, err := trace.NewSeal(last.Seq, last.Hash, time.Now(), signer)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.AddSeal(context.Background(), seal); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, recs
}

// files reads every file of a store directory.
func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		if e.IsDir() {
			out[e.Name()+"/"] = nil
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func segNames(fs map[string][]byte) []string {
	var names []string
	for n := range fs {
		var first uint64
		if scanSegName(n, &first) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// frameSpan is one frame of a segment file: its bytes and the record in it.
type frameSpan struct {
	off, end int64
	seq      uint64
}

func frameSpans(t *testing.T, b []byte) []frameSpan {
	t.Helper()
	fr := newFrameReader(bytes.NewReader(b), fileHeader, int64(len(b)), maxSegmentSize)
	fr.padded = true
	var out []frameSpan
	for {
		off := fr.off
		_, p, err := fr.next()
		if err != nil {
			break
		}
		var r trace.Record
		if err := r.UnmarshalBinary(p); err != nil {
			t.Fatal(err)
		}
		out = append(out, frameSpan{off, fr.off, r.Seq})
	}
	if len(out) == 0 || !allZero(b[out[len(out)-1].end:]) {
		t.Fatalf("segment of %d bytes does not parse whole (frames, then only zeros)", len(b))
	}
	return out
}

// judge opens a tampered copy and runs Verify; it returns what named the
// damage (the record of an open error or of the Break) or an error when
// the damage went unnoticed.
func judge(t *testing.T, fs map[string][]byte, opts *trace.VerifyOptions) (uint64, string, error) {
	t.Helper()
	dir, err := os.MkdirTemp(t.TempDir(), "copy")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for n, b := range fs {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st, err := Open(context.Background(), dir, &Options{ReadOnly: true})
	if err != nil {
		var ce *CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, trace.ErrCorrupt) {
			return 0, "", fmt.Errorf("open failed without a *CorruptError: %v", err)
		}
		return ce.Seq, "open: " + err.Error(), nil
	}
	defer st.Close()
	rep, err := trace.Verify(context.Background(), st, opts)
	if err != nil {
		return 0, "", fmt.Errorf("Verify: %v", err)
	}
	if rep.OK() {
		return 0, "", errors.New("the store opens and Verify finds the log intact")
	}
	return rep.Break.Seq, "verify: " + rep.Break.Error(), nil
}

// TestTamperEveryByte flips every byte of every segment file of a small
// sealed log, in a copy, and checks that opening it or Verify names the
// record the byte belongs to. The same is done again after fixing the
// frame checksums, as someone rewriting the file would: the hash chain
// alone must then catch it.
//
// A byte of the zero padding after the last frame of a segment belongs to
// no record: flipped, it is damage where the next record would be (the
// first of the next segment), except in the last segment past the first
// frame header's place, where it is what a torn write leaves (a header of
// zeros, then data) and is reported as a recovery, with every record kept.
func TestTamperEveryByte(t *testing.T) {
	signer := testSigner(t)
	dir, _ := smallLog(t, signer)
	orig := files(t, dir)
	opts := &trace.VerifyOptions{Certificates: []*x509.Certificate{signer.Certificate()}}
	if seq, why, err := judge(t, orig, opts); err == nil {
		t.Fatalf("the untouched log does not verify: record %d: %s", seq, why)
	}
	segs := segNames(orig)
	if len(segs) < 3 {
		t.Fatalf("only %d segments; the test wants several", len(segs))
	}
	flips, refixed := 0, 0
	by := map[string]int{}
	padFlips := 0
	for si, name := range segs {
		b := orig[name]
		spans := frameSpans(t, b)
		dataEnd := spans[len(spans)-1].end
		owner := func(i int64) uint64 { // the record a byte belongs to
			for _, sp := range spans {
				if i < sp.end {
					return sp.seq
				}
			}
			return spans[len(spans)-1].seq + 1 // padding: where the next record would be
		}
		for i := range int64(len(b)) {
			want := owner(i)
			if i >= dataEnd {
				padFlips++
				c := copyFiles(orig)
				m := bytes.Clone(b)
				m[i] ^= 0xff
				c[name] = m
				headerPlace := i < dataEnd+frameHeader && dataEnd+frameHeader <= int64(len(b))
				if si == len(segs)-1 && !headerPlace {
					if err := judgeRecovered(t, c, want, opts); err != nil {
						t.Fatalf("%s byte %d (padding) flipped: %v", name, i, err)
					}
					by["padding recovered"]++
					continue
				}
				got, why, err := judge(t, c, opts)
				if err != nil {
					t.Fatalf("%s byte %d (padding, where record %d would be) flipped: not detected: %v", name, i, want, err)
				}
				if got != want {
					t.Fatalf("%s byte %d (padding, where record %d would be) flipped: detected at record %d: %s", name, i, want, got, why)
				}
				by["padding "+why[:6]]++
				continue
			}
			for _, fix := range []bool{false, true} {
				var sp frameSpan
				if fix {
					// Only the record's own bytes: what the frame header says
					// about it is re-derived.
					if i < fileHeader {
						continue
					}
					for _, s := range spans {
						if i >= s.off+frameHeader && i < s.end {
							sp = s
						}
					}
					if sp.end == 0 {
						continue
					}
				}
				c := copyFiles(orig)
				m := bytes.Clone(b)
				m[i] ^= 0xff
				if fix {
					refix(m[sp.off:sp.end])
					refixed++
				} else {
					flips++
				}
				c[name] = m
				got, why, err := judge(t, c, opts)
				by[fmt.Sprintf("fixed=%v %s", fix, why[:6])]++
				if err != nil {
					t.Fatalf("%s byte %d (record %d) flipped, checksums fixed %v: not detected: %v", name, i, want, fix, err)
				}
				if got != want {
					t.Fatalf("%s byte %d (record %d) flipped, checksums fixed %v: detected at record %d: %s", name, i, want, fix, got, why)
				}
			}
		}
	}
	if padFlips == 0 {
		t.Fatal("no segment has zero padding")
	}
	t.Logf("%d byte flips (%d in the padding) and %d re-checksummed flips over %d segments, all detected at their record: %v", flips+padFlips, padFlips, refixed, len(segs), by)
}

// judgeRecovered opens a copy read-only and checks that it reports one torn
// tail where record seq would be, and that the log before it verifies.
func judgeRecovered(t *testing.T, fs map[string][]byte, seq uint64, opts *trace.VerifyOptions) error {
	t.Helper()
	dir, err := os.MkdirTemp(t.TempDir(), "copy")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for n, b := range fs {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st, err := Open(context.Background(), dir, &Options{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("open: %v, want a torn tail recovered", err)
	}
	defer st.Close()
	if rec := st.Recovered(); len(rec) != 1 || rec[0].Seq != seq {
		return fmt.Errorf("Recovered = %+v, want a torn tail at record %d", rec, seq)
	}
	if head, _, _ := st.Head(context.Background()); head != seq-1 {
		return fmt.Errorf("head %d, want %d", head, seq-1)
	}
	rep, err := trace.Verify(context.Background(), st, opts)
	if err != nil || !rep.OK() {
		return fmt.Errorf("Verify: %v %v", err, rep.Break)
	}
	return nil
}

func copyFiles(fs map[string][]byte) map[string][]byte {
	c := make(map[string][]byte, len(fs))
	for n, b := range fs {
		c[n] = b
	}
	return c
}

// refix recomputes the checksums of one frame in place.
func refix(frame []byte) {
	p := frame[frameHeader:]
	binary.LittleEndian.PutUint32(frame[0:4], uint32(len(p)))
	copy(frame, appendFrame(nil, frame[4], p)[:frameHeader])
}

// TestTamperRecords deletes, duplicates and swaps with the next every
// record of the small log, moving whole frames in a copy, and checks that
// the damage is found at that record; and again with the records
// renumbered and re-chained-looking (Seq rewritten, checksums fixed, one
// segment), so that only the hash chain and the seals can tell.
func TestTamperRecords(t *testing.T) {
	signer := testSigner(t)
	dir, recs := smallLog(t, signer)
	orig := files(t, dir)
	opts := &trace.VerifyOptions{Certificates: []*x509.Certificate{signer.Certificate()}}
	segs := segNames(orig)
	type frame struct {
		seg   int
		bytes []byte
	}
	var frames []frame
	for si, name := range segs {
		b := orig[name]
		for _, sp := range frameSpans(t, b) {
			frames = append(frames, frame{si, b[sp.off:sp.end]})
		}
	}
	if len(frames) != len(recs) {
		t.Fatalf("%d frames for %d records", len(frames), len(recs))
	}
	// build writes the frames back into their segments.
	build := func(fr []frame) map[string][]byte {
		c := copyFiles(orig)
		for si, name := range segs {
			b := bytes.Clone(orig[name][:fileHeader])
			for _, f := range fr {
				if f.seg == si {
					b = append(b, f.bytes...)
				}
			}
			c[name] = b
		}
		return c
	}
	// renumbered writes the records as one segment, Seq 1.. in order.
	renumbered := func(rs []*trace.Record) map[string][]byte {
		c := copyFiles(orig)
		for _, name := range segs {
			delete(c, name)
		}
		b := fileHead(segMagic, 1)
		for i, r := range rs {
			x := r.Clone()
			x.Seq = uint64(i + 1)
			p, _ := x.MarshalBinary()
			b = appendFrame(b, flagCommit, p)
		}
		c[segName(1)] = b
		return c
	}
	n := len(recs)
	by := map[string]int{}
	defer func() { t.Logf("detected by: %v", by) }()
	for k := range n {
		seq := uint64(k + 1)
		type variant struct {
			name string
			fs   map[string][]byte
			want uint64
		}
		var vs []variant
		del := append(append([]frame(nil), frames[:k]...), frames[k+1:]...)
		vs = append(vs, variant{"delete", build(del), seq})
		dup := append(append(append([]frame(nil), frames[:k+1]...), frame{frames[k].seg, frames[k].bytes}), frames[k+1:]...)
		vs = append(vs, variant{"duplicate", build(dup), seq + 1})
		rdel := append(append([]*trace.Record(nil), recs[:k]...), recs[k+1:]...)
		vs = append(vs, variant{"delete renumbered", renumbered(rdel), seq})
		rdup := append(append(append([]*trace.Record(nil), recs[:k+1]...), recs[k]), recs[k+1:]...)
		vs = append(vs, variant{"duplicate renumbered", renumbered(rdup), seq + 1})
		if k+1 < n {
			sw := append([]frame(nil), frames...)
			sw[k].bytes, sw[k+1].bytes = sw[k+1].bytes, sw[k].bytes
			vs = append(vs, variant{"swap with the next", build(sw), seq})
			rsw := append([]*trace.Record(nil), recs...)
			rsw[k], rsw[k+1] = rsw[k+1], rsw[k]
			vs = append(vs, variant{"swap renumbered", renumbered(rsw), seq})
		}
		for _, v := range vs {
			got, why, err := judge(t, v.fs, opts)
			if err == nil {
				by[v.name+" "+why[:6]]++
			}
			if err != nil {
				t.Errorf("record %d, %s: not detected: %v", seq, v.name, err)
				continue
			}
			if got != v.want {
				t.Errorf("record %d, %s: detected at record %d, want %d: %s", seq, v.name, got, v.want, why)
			}
		}
	}
}
