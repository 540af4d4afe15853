package spooltest

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/provider/spool"
)

// isInvalid fails the test unless err is an *InvalidError naming field.
func isInvalid(t *testing.T, what, field string, err error) {
	t.Helper()
	var ie *spool.InvalidError
	if !errors.As(err, &ie) || !errors.Is(err, spool.ErrInvalid) {
		t.Fatalf("%s: %v, want an *InvalidError", what, err)
	}
	if !strings.HasPrefix(ie.Field, field) {
		t.Fatalf("%s: the error names field %q, want %q", what, ie.Field, field)
	}
}

var badIDs = []struct{ name, id string }{
	{"empty", ""},
	{"parent", "../x"},
	{"dotdot", ".."},
	{"dot", "."},
	{"hidden", ".tmp-x"},
	{"slash", "a/b"},
	{"backslash", `a\b`},
	{"absolute", "/etc/passwd"},
	{"NUL", "a\x00b"},
	{"space", "a b"},
	{"newline", "a\nb"},
	{"non-ASCII", "città"},
	{"dash first", "-rf"},
	{"too long", strings.Repeat("x", spool.MaxIDLen+1)},
	{"very long", strings.Repeat("a", 5000)},
}

func testBadIDs(t *testing.T, sp spool.Spool) {
	for _, tc := range badIDs {
		t.Run(tc.name, func(t *testing.T) {
			it := newItem(tc.id)
			isInvalid(t, "Put", "ID", sp.Put(ctx(t), it, failReader{t, "Put with a bad ID"}))
			_, err := sp.Get(ctx(t), tc.id)
			isInvalid(t, "Get", "ID", err)
			_, err = sp.Body(ctx(t), tc.id)
			isInvalid(t, "Body", "ID", err)
			isInvalid(t, "Done", "ID", sp.Done(ctx(t), tc.id, "acceptance", failReader{t, "Done with a bad ID"}))
			_, err = sp.Output(ctx(t), tc.id, "acceptance")
			isInvalid(t, "Output", "ID", err)
			_, err = sp.Retry(ctx(t), tc.id, "relay", testTime, "")
			isInvalid(t, "Retry", "ID", err)
			isInvalid(t, "Complete", "ID", sp.Complete(ctx(t), tc.id))
		})
	}
	long := strings.Repeat("z", spool.MaxIDLen)
	put(t, sp, newItem(long), 1, 10)
	checkBody(t, sp, long, 1, 10)
	if p, _ := sp.Pending(ctx(t), nil); len(p) != 1 {
		t.Fatalf("Pending after bad IDs: %v", ids(p))
	}
}

func testBadItems(t *testing.T, sp spool.Spool) {
	isInvalid(t, "Put of a nil item", "Item", sp.Put(ctx(t), nil, failReader{t, "Put of nil"}))
	for _, tc := range []struct {
		name, field string
		change      func(*spool.Item)
	}{
		{"From not UTF-8", "Item.From", func(it *spool.Item) { it.From = "a\xffb@example.com" }},
		{"To with NUL", "Item.To[1]", func(it *spool.Item) { it.To[1] = "a\x00b@example.com" }},
		{"User with NUL", "Item.User", func(it *spool.Item) { it.User = "\x00" }},
		{"Peer not UTF-8", "Item.Peer", func(it *spool.Item) { it.Peer = "\xc0" }},
		{"Helo with NUL", "Item.Helo", func(it *spool.Item) { it.Helo = "x\x00" }},
		{"Role not UTF-8", "Item.Role", func(it *spool.Item) { it.Role = "\xfe" }},
		{"Meta key not UTF-8", "Item.Meta", func(it *spool.Item) { it.Meta["\xff"] = "v" }},
		{"Meta value with NUL", "Item.Meta", func(it *spool.Item) { it.Meta["k"] = "\x00" }},
		{"envelope too large", "Item", func(it *spool.Item) { it.Meta["big"] = strings.Repeat("x", spool.MaxEnvelope) }},
		{"Received out of range", "Item.Received", func(it *spool.Item) { it.Received = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it := newItem("q1")
			tc.change(it)
			isInvalid(t, "Put", tc.field, sp.Put(ctx(t), it, failReader{t, "Put of a bad item"}))
			_, err := sp.Get(ctx(t), "q1")
			isNotFound(t, "Get after a refused Put", err)
		})
	}
}

func testBadSteps(t *testing.T, sp spool.Spool) {
	put(t, sp, newItem("q1"), 1, 10)
	for _, tc := range []struct{ name, step string }{
		{"empty", ""},
		{"NUL", "a\x00b"},
		{"newline", "relay\npec.example.it"},
		{"DEL", "a\x7f"},
		{"C1 control", "a\u0085b"},
		{"not UTF-8", "relay:\xff"},
		{"too long", strings.Repeat("s", spool.MaxStepLen+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isInvalid(t, "Done", "step", sp.Done(ctx(t), "q1", tc.step, failReader{t, "Done of a bad step"}))
			_, err := sp.Output(ctx(t), "q1", tc.step)
			isInvalid(t, "Output", "step", err)
			_, err = sp.Retry(ctx(t), "q1", tc.step, testTime, "")
			isInvalid(t, "Retry", "step", err)
		})
	}
	_, err := sp.Retry(ctx(t), "q1", "relay", testTime, "bad\x00cause")
	isInvalid(t, "Retry with a NUL in the cause", "cause", err)
	// Any printable name is a step, paths included: a spool never uses
	// it as one.
	for _, step := range []string{"../../x", "/etc/passwd", "deposit:anna.bianchi@pec.example.org", "relay:città.example.it", strings.Repeat("é", spool.MaxStepLen/2)} {
		done(t, sp, "q1", step, []byte(step))
		if got := output(t, sp, "q1", step); string(got) != step {
			t.Fatalf("Output of step %q: %q", step, got)
		}
	}
	if st := get(t, sp, "q1"); len(st.Steps) != 5 {
		t.Fatalf("Steps: %q, want the 5 done", st.Steps)
	}
}

// largeSize is the body of testLarge: large enough that holding it in
// memory shows, small enough for a quick test.
const largeSize = 20 << 20

// allocated returns the bytes allocated on the heap while fn runs.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func testLarge(t *testing.T, sp spool.Spool, streams bool) {
	it := newItem("large")
	a := allocated(func() { put(t, sp, it, 42, largeSize) })
	if st := get(t, sp, "large"); st.Size != largeSize {
		t.Fatalf("Size %d, want %d", st.Size, largeSize)
	}
	var b uint64
	b = allocated(func() { checkBody(t, sp, "large", 42, largeSize) })
	t.Logf("a %d MiB body: Put allocated %d KiB, reading it back %d KiB", largeSize>>20, a>>10, b>>10)
	const limit = 4 << 20
	if streams && (a > limit || b > limit) {
		t.Fatalf("Put allocated %d bytes and reading the body %d for a body of %d: the body is not streamed", a, b, largeSize)
	}
	done(t, sp, "large", "envelope", nil)
	if err := sp.Done(ctx(t), "large", "transport", newGen(43, largeSize/2)); err != nil {
		t.Fatal(err)
	}
	rc, err := sp.Output(ctx(t), "large", "transport")
	if err != nil {
		t.Fatal(err)
	}
	if n, sum := readSum(t, "large output", rc); n != largeSize/2 || sum != genSum(43, largeSize/2) {
		t.Fatalf("a large output read back: %d bytes, not those recorded", n)
	}
}
