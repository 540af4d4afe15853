package filestore

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/tracetest"
)

// TestDirectWrite writes runs of chunks one after the other with the
// direct writer, of lengths that end inside a block, exactly at its end
// and past maxRun, sometimes with a new writer (as after a reopen, which
// reads the start of the last block back), and checks after each run that
// the file holds exactly what was written, then zeros.
func TestDirectWrite(t *testing.T) {
	for _, grow := range []bool{false, true} {
		name := map[bool]string{false: "zero-filled", true: "growing"}[grow]
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "seg")
			f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, fileMode)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			want := []byte("header of twenty b.\n")
			if _, err := f.Write(want); err != nil {
				t.Fatal(err)
			}
			if !grow {
				if _, err := f.WriteAt(make([]byte, 64<<10), int64(len(want))); err != nil {
					t.Fatal(err)
				}
			}
			sg := &segment{path: path, f: f, rw: true}
			d := &direct{}
			defer func() { d.close() }()
			rng := rand.New(rand.NewPCG(1, 2))
			// A length -k stands for the bytes to the end of the current
			// block and k-1 blocks more.
			lengths := []int{
				-1,       // to the end of the first block
				dioBlock, // one whole block, aligned
				1, -1,    // a byte, then to the end of the block
				3*dioBlock + 17, 5, // across blocks
				maxRun + 3*dioBlock + 1000, // more than one buffer
				-1, 100, -3, -1,            // to a block's end with a buffer larger than the run
			}
			for range 60 {
				if rng.IntN(4) == 0 {
					lengths = append(lengths, -1-rng.IntN(3))
				} else {
					lengths = append(lengths, 1+rng.IntN(3*dioBlock))
				}
			}
			nDirect := 0
			for i, n := range lengths {
				if i%7 == 6 {
					d.close() // a new writer: it reads the block it starts in
					d = &direct{}
				}
				off := int64(len(want))
				if n < 0 {
					n = dioBlock - int(off%dioBlock) + (-n-1)*dioBlock
				}
				var chunks []chunk
				for o := off; n > 0; { // one to three chunks
					k := min(n, 1+rng.IntN(n))
					if len(chunks) == 2 {
						k = n
					}
					b := make([]byte, k)
					for j := range b {
						b[j] = byte(rng.IntN(255) + 1)
					}
					chunks = append(chunks, chunk{sg, o, b})
					want = append(want, b...)
					n, o = n-k, o+int64(k)
				}
				ok, err := d.write(sg, off, chunks)
				if err != nil {
					t.Fatalf("run %d: %v", i, err)
				}
				if !ok { // no direct I/O here: written the other way
					for _, c := range chunks {
						if _, err := f.WriteAt(c.b, c.off); err != nil {
							t.Fatal(err)
						}
					}
				} else {
					nDirect++
				}
				got, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) < len(want) || !bytes.Equal(got[:len(want)], want) {
					at := 0
					for at < min(len(got), len(want)) && got[at] == want[at] {
						at++
					}
					t.Fatalf("run %d (%d bytes at %d): the file differs from what was written at byte %d (file %d bytes, written %d)", i, len(want)-int(off), off, at, len(got), len(want))
				}
				if rest := got[len(want):]; !allZero(rest) {
					t.Fatalf("run %d: bytes other than zeros past the end", i)
				}
				if grow && ok && len(got)%dioBlock != 0 {
					t.Fatalf("run %d: the file is %d bytes: a direct write ends on a block", i, len(got))
				}
			}
			if odirect != 0 && nDirect == 0 {
				t.Logf("direct I/O refused in %s: only the page-cache path was covered", filepath.Dir(path))
			}
		})
	}
}

// TestDirectRefused: when the file system refuses a direct write, at the
// first write or later, in the middle of an Append of more than one
// buffer too, the records go through the page cache instead and every
// one is there, whole, after the store is closed and opened again.
func TestDirectRefused(t *testing.T) {
	for _, refuseAt := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprintf("write=%d", refuseAt), func(t *testing.T) {
			dir := t.TempDir()
			st := openT(t, dir, &Options{SegmentSize: 16 << 20})
			writes := 0
			st.dio.refuse = func() bool { writes++; return writes == refuseAt } // read by the syncer only
			ctx := context.Background()
			n := 0
			for _, size := range []int{1, 3, 1, 20000, 2, 1} { // 20,000 records: more than maxRun
				if err := st.Append(ctx, tracetest.NewRecords(n, size)...); err != nil {
					t.Fatal(err)
				}
				n += size
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			if writes < refuseAt {
				t.Fatalf("%d direct writes, fewer than the one refused", writes)
			}
			st = openT(t, dir, nil)
			defer st.Close()
			if rec := st.Recovered(); len(rec) > 0 {
				t.Fatalf("recoveries after a clean close: %+v", rec)
			}
			seen := 0
			err := st.Scan(ctx, 1, func(r *trace.Record) error {
				seen++
				if want := tracetest.NewRecord(seen - 1); r.MsgID != want.MsgID || !r.Check() {
					return fmt.Errorf("record %d is not the one appended", seen)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if seen != n {
				t.Fatalf("%d records after reopening, want %d", seen, n)
			}
			rep, err := trace.Verify(ctx, st, nil)
			if err != nil || !rep.OK() {
				t.Fatalf("Verify: %v %v", err, rep.Break)
			}
		})
	}
}
