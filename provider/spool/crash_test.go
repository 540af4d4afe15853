package spool_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pecsdk/pec/provider/spool"
)

const (
	crashDirEnv   = "SPOOL_CRASH_WRITER_DIR"
	crashRoundEnv = "SPOOL_CRASH_WRITER_ROUND"
)

var crashSteps = []string{"acceptance", "relay:pec.example.org", "trace"}

// crashBody returns the body of item id: its length and bytes follow
// from the ID, so that any item found after a crash can be checked.
func crashBody(id string) io.Reader {
	h := fnv.New64a()
	h.Write([]byte(id))
	s := h.Sum64()
	var seed [32]byte
	for i := range 8 {
		seed[i] = byte(s >> (8 * i))
	}
	return io.LimitReader(rand.NewChaCha8(seed), int64(s%150_000))
}

func crashOutput(id, step string) []byte {
	if step == "trace" {
		return nil
	}
	return bytes.Repeat([]byte(id+" "+step+"\r\n"), 1+len(id)%50)
}

// TestCrashWriter is the child process of TestCrash: it finishes the
// items a previous child left (missing steps, then Complete), then puts
// new items and records their steps from several goroutines, forever,
// printing each acknowledged call on stdout ("P id", "S id step",
// "R id step attempts", "C id"; "c id" before a Complete). Run alone, it
// does nothing.
func TestCrashWriter(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("the child of TestCrash")
	}
	round := os.Getenv(crashRoundEnv)
	ctx := context.Background()
	sp, err := spool.Open(ctx, dir, nil)
	if err != nil {
		fmt.Println("E", err)
		os.Exit(3)
	}
	var out sync.Mutex
	say := func(format string, a ...any) {
		out.Lock()
		os.Stdout.WriteString(fmt.Sprintf(format, a...) + "\n") // one write per line: whole on the pipe
		out.Unlock()
	}
	must := func(err error) {
		if err != nil {
			say("E %v", err)
			os.Exit(3)
		}
	}
	finish := func(st *spool.State) {
		id := st.Item.ID
		for _, step := range crashSteps {
			if !st.Done(step) {
				must(sp.Done(ctx, id, step, bytes.NewReader(crashOutput(id, step))))
				say("S %s %s", id, step)
			}
		}
		say("c %s", id)
		must(sp.Complete(ctx, id))
		say("C %s", id)
	}
	left, err := sp.Pending(ctx, nil)
	must(err)
	work := make(chan *spool.State)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for st := range work {
				finish(st)
			}
		}()
	}
	for _, st := range left {
		work <- st
	}
	close(work)
	wg.Wait()
	for w := range 8 {
		go func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("r%s-w%d-%d", round, w, i)
				must(sp.Put(ctx, &spool.Item{ID: id, Role: spool.RoleIncoming, From: "a@example.org", To: []string{id + "@example.org"}}, crashBody(id)))
				say("P %s", id)
				must(sp.Done(ctx, id, crashSteps[0], bytes.NewReader(crashOutput(id, crashSteps[0]))))
				say("S %s %s", id, crashSteps[0])
				n, err := sp.Retry(ctx, id, crashSteps[1], time.Now().Add(time.Minute), "451 "+id)
				must(err)
				say("R %s %s %d", id, crashSteps[1], n)
				if i%3 == 0 {
					continue // left for the next child
				}
				must(sp.Done(ctx, id, crashSteps[1], bytes.NewReader(crashOutput(id, crashSteps[1]))))
				say("S %s %s", id, crashSteps[1])
				if i%3 == 1 {
					finish(&spool.State{Item: spool.Item{ID: id}, Steps: crashSteps[:2]})
				}
			}
		}()
	}
	select {}
}

// crashLog is what the children acknowledged, over every round.
type crashLog struct {
	put       map[string]bool
	steps     map[string]map[string]bool
	retries   map[string]int // "id step" -> attempts acknowledged
	completed map[string]bool
	starting  map[string]bool // a Complete begun
}

// TestCrash kills a writer process with SIGKILL mid-stream, again and
// again on the same spool, and checks after each kill that every item,
// step and retry it acknowledged is there, byte for byte, that every
// item it completed is gone, and that whatever else is there is whole.
func TestCrash(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child")
	}
	dir := t.TempDir()
	rounds := 12
	if testing.Short() {
		rounds = 4
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	lg := &crashLog{put: map[string]bool{}, steps: map[string]map[string]bool{}, retries: map[string]int{}, completed: map[string]bool{}, starting: map[string]bool{}}
	for round := range rounds {
		target := 30 + rng.IntN(1500)
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWriter$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
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
			if err := lg.note(sc.Text()); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			n++
			if n >= target && !killed {
				cmd.Process.Kill() // SIGKILL: no deferred code, no Close
				killed = true
			}
		}
		cmd.Wait()
		if !killed {
			t.Fatalf("round %d: the writer ended by itself after %d lines", round, n)
		}
		pending := lg.check(t, round, dir)
		t.Logf("round %d: killed after %d acknowledgements; %d items pending, %d put, %d completed so far", round, n, pending, len(lg.put), len(lg.completed))
	}
}

func (lg *crashLog) note(line string) error {
	f := strings.Fields(line)
	switch {
	case len(f) == 2 && f[0] == "P":
		lg.put[f[1]] = true
	case len(f) == 3 && f[0] == "S":
		if lg.steps[f[1]] == nil {
			lg.steps[f[1]] = map[string]bool{}
		}
		lg.steps[f[1]][f[2]] = true
	case len(f) == 4 && f[0] == "R":
		n, err := strconv.Atoi(f[3])
		if err != nil {
			return fmt.Errorf("bad line %q", line)
		}
		lg.retries[f[1]+" "+f[2]] = max(lg.retries[f[1]+" "+f[2]], n)
	case len(f) == 2 && f[0] == "c":
		lg.starting[f[1]] = true
	case len(f) == 2 && f[0] == "C":
		lg.completed[f[1]] = true
	default:
		return fmt.Errorf("the writer said %q", line)
	}
	return nil
}

// check opens the spool and compares it with what was acknowledged. It
// returns how many items are pending.
func (lg *crashLog) check(t *testing.T, round int, dir string) int {
	t.Helper()
	ctx := context.Background()
	sp, err := spool.Open(ctx, dir, nil)
	if err != nil {
		t.Fatalf("round %d: reopening after the kill: %v", round, err)
	}
	defer sp.Close()
	if d := sp.Damaged(); len(d) > 0 {
		t.Fatalf("round %d: after the kill, damaged files: %v", round, d)
	}
	pending, err := sp.Pending(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	there := map[string]*spool.State{}
	for _, st := range pending {
		there[st.Item.ID] = st
	}
	for id := range lg.put {
		if there[id] == nil && !lg.starting[id] {
			t.Fatalf("round %d: acknowledged item %s is missing", round, id)
		}
	}
	for id := range lg.completed {
		if there[id] != nil {
			t.Fatalf("round %d: completed item %s is back", round, id)
		}
	}
	for id, st := range there {
		// Acknowledged or not, what is there is whole.
		rc, err := sp.Body(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		want, _ := io.ReadAll(crashBody(id))
		if err != nil || !bytes.Equal(got, want) || st.Size != int64(len(want)) {
			t.Fatalf("round %d: body of item %s: %d bytes (%v), want the %d put", round, id, len(got), err, len(want))
		}
		for step := range lg.steps[id] {
			if !st.Done(step) {
				t.Fatalf("round %d: acknowledged step %q of item %s is missing", round, step, id)
			}
		}
		for _, step := range st.Steps {
			rc, err := sp.Output(ctx, id, step)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, crashOutput(id, step)) {
				t.Fatalf("round %d: output of step %q of item %s: %q (%v)", round, step, id, got, err)
			}
		}
		for _, step := range crashSteps {
			n := lg.retries[id+" "+step]
			if n == 0 || st.Done(step) {
				continue
			}
			if len(st.Retries) != 1 || st.Retries[0].Step != step || st.Retries[0].Attempts < n || st.Retries[0].Cause != "451 "+id {
				t.Fatalf("round %d: item %s: retries %+v, want %d attempts of %q acknowledged", round, id, st.Retries, n, step)
			}
		}
	}
	return len(pending)
}
