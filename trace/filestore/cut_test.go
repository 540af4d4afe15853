package filestore

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/tracetest"
)

// TestCutInterrupted: a crash at any step of Cut (after the checkpoint is
// stored; after the segment holding the cut point is rewritten too; after
// the seals are rewritten too) opens as the finished Cut.
func TestCutInterrupted(t *testing.T) {
	dir := t.TempDir()
	st := openT(t, dir, &Options{SegmentSize: 1500})
	recs := tracetest.NewRecords(0, 20)
	for _, r := range recs {
		if err := st.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	signer := testSigner(t)
	for _, i := range []int{4, 8, 16} {
		seal, err := trace.NewSeal(recs[i].Seq, recs[i].Hash, time.Now(), signer)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.AddSeal(context.Background(), seal); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	before := files(t, dir)

	after := t.TempDir()
	for n, b := range before {
		os.WriteFile(filepath.Join(after, n), b, 0o644)
	}
	st = openT(t, after, &Options{SegmentSize: 1500})
	cp, err := trace.NewCheckpoint(9, recs[8].Hash, recs[9].Time, time.Now(), signer)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Cut(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
	st.Close()
	cut := files(t, after)
	var rewritten string
	for n := range cut {
		if _, ok := before[n]; !ok && n != checkpointName {
			rewritten = n
		}
	}
	if rewritten != segName(10) {
		t.Fatalf("Cut at 9 made %q, want %s (the cut fell inside a segment: %v)", rewritten, segName(10), segNames(before))
	}
	steps := map[string][]string{
		"checkpoint":                 {checkpointName},
		"checkpoint, segment":        {checkpointName, rewritten},
		"checkpoint, segment, seals": {checkpointName, rewritten, sealsName},
	}
	for name, take := range steps {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			for n, b := range before {
				os.WriteFile(filepath.Join(d, n), b, 0o644)
			}
			for _, n := range take {
				os.WriteFile(filepath.Join(d, n), cut[n], 0o644)
			}
			st := openT(t, d, nil)
			defer st.Close()
			checkRecords(t, st, recs[9:])
			got, _ := st.Checkpoint(context.Background())
			if got == nil || got.Seq != 9 {
				t.Fatalf("checkpoint %+v", got)
			}
			seals, _ := st.Seals(context.Background())
			if len(seals) != 1 || seals[0].Seq != 17 {
				t.Fatalf("seals %v, want only that of record 17", sealSeqs(seals))
			}
			more := tracetest.NewRecord(20)
			if err := st.Append(context.Background(), more); err != nil || more.Seq != 21 {
				t.Fatalf("Append: %v, Seq %d", err, more.Seq)
			}
			checkRecords(t, st, append(recs[9:len(recs):len(recs)], more))
		})
	}
}

func sealSeqs(s []*trace.Seal) []uint64 {
	out := make([]uint64, len(s))
	for i, x := range s {
		out[i] = x.Seq
	}
	return out
}

// TestPrune: retention through trace.Prune (which signs the checkpoint and
// cuts the store) on a log of several segments, sealed as a provider seals
// it: the rest verifies, before and after reopening.
func TestPrune(t *testing.T) {
	signer := testSigner(t)
	dir := t.TempDir()
	st := openT(t, dir, &Options{SegmentSize: 4096})
	ctx := context.Background()
	recs := tracetest.NewRecords(0, 120)
	for i := 0; i < len(recs); i += 10 {
		if err := st.Append(ctx, recs[i:i+10]...); err != nil {
			t.Fatal(err)
		}
		if _, err := trace.SealHead(ctx, st, signer, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	before := recs[70].Time
	cp, err := trace.Prune(ctx, st, before, signer, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cp == nil || cp.Seq != 70 {
		t.Fatalf("Prune before record 71 made checkpoint %+v", cp)
	}
	verify := func(st *Store) {
		rep, err := trace.Verify(ctx, st, &trace.VerifyOptions{Certificates: []*x509.Certificate{signer.Certificate()}})
		if err != nil || !rep.OK() || rep.First != 71 || rep.Last != 120 {
			t.Fatalf("Verify after Prune: %+v, %v", rep, err)
		}
	}
	verify(st)
	st.Close()
	for n := range files(t, dir) {
		var first uint64
		if scanSegName(n, &first) && first <= 70 {
			t.Errorf("segment %s, all cut, is still there", n)
		}
	}
	st = openT(t, dir, nil)
	defer st.Close()
	verify(st)
	checkRecords(t, st, recs[70:])
}
