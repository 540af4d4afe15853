package filestore

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/tracetest"
)

const crashDirEnv = "FILESTORE_CRASH_WRITER_DIR"

// TestCrashWriter is the child process of TestCrash: it appends to the
// store named by the environment, from several goroutines, forever, and
// prints every acknowledged record ("R seq hash") and seal ("S seq") on
// stdout. Run alone, it does nothing.
func TestCrashWriter(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("the child of TestCrash")
	}
	st, err := Open(context.Background(), dir, &Options{SegmentSize: 48 << 10})
	if err != nil {
		fmt.Println("E", err)
		os.Exit(3)
	}
	signer := testSigner(t)
	var out sync.Mutex
	say := func(s string) {
		out.Lock()
		os.Stdout.WriteString(s) // one write per line: whole on the pipe
		out.Unlock()
	}
	start, _, _ := st.Head(context.Background())
	var next atomic.Int64
	next.Store(int64(start) * 3)
	for w := range 8 {
		go func() {
			for i := 0; ; i++ {
				n := 1 + (w+i)%3
				recs := tracetest.NewRecords(int(next.Add(int64(n)))-n, n)
				if err := st.Append(context.Background(), recs...); err != nil {
					say(fmt.Sprintf("E %v\n", err))
					os.Exit(3)
				}
				var b strings.Builder
				for _, r := range recs {
					fmt.Fprintf(&b, "R %d %x\n", r.Seq, r.Hash)
				}
				say(b.String())
			}
		}()
	}
	for {
		seq, head, _ := st.Head(context.Background())
		if seq > 0 {
			seal, err := trace.NewSeal(seq, head, time.Now(), signer)
			if err == nil {
				err = st.AddSeal(context.Background(), seal)
			}
			if err != nil {
				say(fmt.Sprintf("E %v\n", err))
				os.Exit(3)
			}
			say(fmt.Sprintf("S %d\n", seq))
		}
	}
}

// TestCrash kills a writer process with SIGKILL mid-stream, again and
// again on the same store, and checks after each kill that every record
// and seal it acknowledged is there, identical, and that the chain
// verifies.
func TestCrash(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child")
	}
	dir := t.TempDir()
	rounds := 15
	if testing.Short() {
		rounds = 4
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	acked := map[uint64]trace.Hash{}
	var sealed []uint64
	recovered := 0
	for round := range rounds {
		target := 50 + rng.IntN(3000) // acknowledgements before the kill
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWriter$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		sc := bufio.NewScanner(stdout)
		n, killed := 0, false
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 3 && f[0] == "R":
				seq, err1 := strconv.ParseUint(f[1], 10, 64)
				h, err2 := hex.DecodeString(f[2])
				if err1 != nil || err2 != nil || len(h) != len(trace.Hash{}) {
					t.Fatalf("round %d: bad line %q", round, sc.Text())
				}
				if old, ok := acked[seq]; ok && old != trace.Hash(h) {
					t.Fatalf("round %d: record %d acknowledged twice with different hashes", round, seq)
				}
				acked[seq] = trace.Hash(h)
				n++
			case len(f) == 2 && f[0] == "S":
				seq, _ := strconv.ParseUint(f[1], 10, 64)
				sealed = append(sealed, seq)
			default:
				t.Fatalf("round %d: the writer said %q", round, sc.Text())
			}
			if n >= target && !killed {
				cmd.Process.Kill() // SIGKILL: no deferred code, no Close
				killed = true
			}
		}
		cmd.Wait()
		if !killed {
			t.Fatalf("round %d: the writer ended by itself after %d records", round, n)
		}

		st, err := Open(context.Background(), dir, nil)
		if err != nil {
			t.Fatalf("round %d: reopening after the kill: %v", round, err)
		}
		recovered += len(st.Recovered())
		head, _, _ := st.Head(context.Background())
		for seq, h := range acked {
			r, err := st.Get(context.Background(), seq)
			if err != nil {
				t.Fatalf("round %d: acknowledged record %d (head %d): %v", round, seq, head, err)
			}
			if r.Hash != h || !r.Check() {
				t.Fatalf("round %d: acknowledged record %d is not the one acknowledged", round, seq)
			}
		}
		seals, err := st.Seals(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		have := map[uint64]bool{}
		for _, s := range seals {
			have[s.Seq] = true
		}
		for _, seq := range sealed {
			if !have[seq] {
				t.Fatalf("round %d: acknowledged seal of record %d is missing", round, seq)
			}
		}
		rep, err := trace.Verify(context.Background(), st, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			t.Fatalf("round %d: after the kill, Verify: %v", round, rep.Break)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed after %d acknowledgements; head %d, %d seals, %d recoveries so far", round, n, head, len(seals), recovered)
	}
}
