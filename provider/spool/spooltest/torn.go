package spooltest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/pecsdk/pec/provider/spool"
)

// RunTorn checks what a crash in the middle of a write leaves: the write
// not acknowledged is absent, or there whole, and everything acknowledged
// before it is there; the item is neither lost nor withheld, and the
// write can be made again. tear(t, dir, id, keep) must damage the last
// write the spool made for item id in dir as a crash between that write
// and its fsync may: keep, from 0 to 99, is the percentage of the write
// that reached the disk, and an odd keep asks for the rest to read as
// zeros (the length reached the disk, the data did not) rather than be
// cut off. open is as for RunDurable.
func RunTorn(t *testing.T, open func(t *testing.T, dir string) spool.Spool, tear func(t *testing.T, dir, id string, keep int)) {
	for _, keep := range []int{0, 1, 10, 33, 50, 75, 98, 99} {
		t.Run(fmt.Sprint("Keep", keep), func(t *testing.T) {
			dir := t.TempDir()
			sp := open(t, dir)
			put(t, sp, newItem("q1"), 1, 5000)
			put(t, sp, newItem("q2"), 2, 100)
			done(t, sp, "q1", "acceptance", []byte("receipt 1"))
			if _, err := sp.Retry(ctx(t), "q1", "relay", testTime, "451"); err != nil {
				t.Fatal(err)
			}
			done(t, sp, "q1", "relay", []byte("the output whose write a crash tore"))
			if err := sp.Close(); err != nil {
				t.Fatal(err)
			}
			tear(t, dir, "q1", keep)

			sp = open(t, dir)
			defer sp.Close()
			st := get(t, sp, "q1")
			checkBody(t, sp, "q1", 1, 5000)
			checkBody(t, sp, "q2", 2, 100)
			if !st.Done("acceptance") {
				t.Fatalf("the step acknowledged before the torn one is gone: %v", st.Steps)
			}
			if got := output(t, sp, "q1", "acceptance"); string(got) != "receipt 1" {
				t.Fatalf("output of the step before the torn one: %q", got)
			}
			if st.Done("relay") {
				// Whole: its output must be too.
				if got := output(t, sp, "q1", "relay"); string(got) != "the output whose write a crash tore" {
					t.Fatalf("the torn step counts as done with output %q", got)
				}
				return
			}
			if len(st.Retries) != 1 || st.Retries[0].Step != "relay" {
				t.Fatalf("the torn step not done, retries %v: want the retry acknowledged before it", st.Retries)
			}
			if _, err := sp.Output(ctx(t), "q1", "relay"); !errors.Is(err, spool.ErrNotFound) {
				t.Fatalf("Output of the torn step: %v, want ErrNotFound", err)
			}
			done(t, sp, "q1", "relay", []byte("again"))
			if err := sp.Close(); err != nil {
				t.Fatal(err)
			}
			sp = open(t, dir)
			defer sp.Close()
			if got := output(t, sp, "q1", "relay"); string(got) != "again" {
				t.Fatalf("the step written again after the torn one: %q", got)
			}
		})
	}
}
