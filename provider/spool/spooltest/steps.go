package spooltest

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pecsdk/pec/provider/spool"
)

func testSteps(t *testing.T, sp spool.Spool) {
	put(t, sp, newItem("q1"), 1, 100)
	put(t, sp, newItem("q2"), 2, 100)
	receipt := []byte("Content-Type: multipart/signed\r\n\r\n\x00\xff binary receipt bytes")
	done(t, sp, "q1", "acceptance", receipt)
	if err := sp.Done(ctx(t), "q1", "trace", nil); err != nil {
		t.Fatalf("Done with no output: %v", err)
	}
	done(t, sp, "q1", "deposit:anna.bianchi@pec.example.org", []byte{})
	if got := output(t, sp, "q1", "acceptance"); !bytes.Equal(got, receipt) {
		t.Fatalf("Output: %q, want %q", got, receipt)
	}
	if got := output(t, sp, "q1", "acceptance"); !bytes.Equal(got, receipt) {
		t.Fatalf("Output read twice: %q", got)
	}
	if got := output(t, sp, "q1", "trace"); len(got) != 0 {
		t.Fatalf("Output of a step done with no output: %q", got)
	}
	st := get(t, sp, "q1")
	want := []string{"acceptance", "deposit:anna.bianchi@pec.example.org", "trace"}
	if !slices.Equal(st.Steps, want) {
		t.Fatalf("Steps %q, want %q", st.Steps, want)
	}
	for _, s := range want {
		if !st.Done(s) {
			t.Fatalf("State.Done(%q) false", s)
		}
	}
	if st.Done("relay") {
		t.Fatal("State.Done of a step not done")
	}
	if st := get(t, sp, "q2"); len(st.Steps) != 0 {
		t.Fatalf("steps of q1 show on q2: %q", st.Steps)
	}
	_, err := sp.Output(ctx(t), "q1", "relay")
	isNotFound(t, "Output of a step not done", err)
	_, err = sp.Output(ctx(t), "q2", "acceptance")
	isNotFound(t, "Output of a step done on another item", err)
	checkBody(t, sp, "q1", 1, 100)
}

func testFirstKept(t *testing.T, sp spool.Spool) {
	put(t, sp, newItem("q1"), 1, 100)
	done(t, sp, "q1", "acceptance", []byte("first receipt"))
	if err := sp.Done(ctx(t), "q1", "acceptance", failReader{t, "Done of a step already done"}); err != nil {
		t.Fatalf("Done of a step already done: %v, want nil", err)
	}
	if err := sp.Done(ctx(t), "q1", "acceptance", nil); err != nil {
		t.Fatalf("Done of a step already done, no output: %v", err)
	}
	if got := output(t, sp, "q1", "acceptance"); string(got) != "first receipt" {
		t.Fatalf("Output after a second Done: %q, want the first output", got)
	}
	if st := get(t, sp, "q1"); !slices.Equal(st.Steps, []string{"acceptance"}) {
		t.Fatalf("Steps after a second Done: %q", st.Steps)
	}
}

func testRetry(t *testing.T, sp spool.Spool) {
	put(t, sp, newItem("q1"), 1, 100)
	next := testTime.Add(5 * time.Minute)
	for i := 1; i <= 3; i++ {
		n, err := sp.Retry(ctx(t), "q1", "relay:pec.example.org", next.Add(time.Duration(i)*time.Minute), fmt.Sprintf("451 try %d", i))
		if err != nil || n != i {
			t.Fatalf("Retry %d: %d attempts, %v", i, n, err)
		}
	}
	if n, err := sp.Retry(ctx(t), "q1", "relay:example.com", next.Add(time.Nanosecond*1500), "connection refused"); err != nil || n != 1 {
		t.Fatalf("Retry of another step: %d, %v", n, err)
	}
	st := get(t, sp, "q1")
	want := []spool.Retry{
		{Step: "relay:example.com", Attempts: 1, Next: next.Add(1500).Truncate(time.Microsecond), Cause: "connection refused"},
		{Step: "relay:pec.example.org", Attempts: 3, Next: next.Add(3 * time.Minute).Truncate(time.Microsecond), Cause: "451 try 3"},
	}
	sameRetries(t, "Retries", st.Retries, want)
	if !st.Due().Equal(want[0].Next) {
		t.Fatalf("Due %v, want the earliest Next %v", st.Due(), want[0].Next)
	}
	done(t, sp, "q1", "relay:example.com", []byte("250 ok"))
	st = get(t, sp, "q1")
	sameRetries(t, "Retries after Done", st.Retries, want[1:])
	if n, err := sp.Retry(ctx(t), "q1", "relay:example.com", next, "late failure"); err != nil || n != 0 {
		t.Fatalf("Retry of a done step: %d, %v; want 0, nil", n, err)
	}
	sameRetries(t, "Retries after a Retry of a done step", get(t, sp, "q1").Retries, want[1:])
	done(t, sp, "q1", "relay:pec.example.org", nil)
	st = get(t, sp, "q1")
	if len(st.Retries) != 0 || !st.Due().Equal(st.Item.Received) {
		t.Fatalf("after every retried step is done: retries %v, due %v", st.Retries, st.Due())
	}
}

// sameRetries fails the test unless got is want.
func sameRetries(t *testing.T, what string, got, want []spool.Retry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %+v, want %+v", what, got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Step != w.Step || g.Attempts != w.Attempts || g.Cause != w.Cause || !g.Next.Equal(w.Next) {
			t.Fatalf("%s[%d]: %+v, want %+v", what, i, g, w)
		}
	}
}

func testPending(t *testing.T, sp spool.Spool) {
	t0 := testTime.Truncate(time.Microsecond)
	for i, id := range []string{"c", "a", "b", "d"} {
		it := newItem(id)
		it.Received = t0.Add(time.Duration(i) * time.Second)
		put(t, sp, it, uint64(i), 10)
	}
	// c due at t0, a at t0+1s, b at t0+2s, d at t0+3s; then:
	// a retried at t0+10m, b at t0+5s, c done and untouched.
	if _, err := sp.Retry(ctx(t), "a", "relay", t0.Add(10*time.Minute), "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := sp.Retry(ctx(t), "b", "relay", t0.Add(5*time.Second), "x"); err != nil {
		t.Fatal(err)
	}
	done(t, sp, "c", "acceptance", nil)
	for _, tc := range []struct {
		opts *spool.PendingOptions
		want string
	}{
		{nil, "[c d b a]"},
		{&spool.PendingOptions{}, "[c d b a]"},
		{&spool.PendingOptions{Due: t0}, "[c]"},
		{&spool.PendingOptions{Due: t0.Add(4 * time.Second)}, "[c d]"},
		{&spool.PendingOptions{Due: t0.Add(5 * time.Second)}, "[c d b]"},
		{&spool.PendingOptions{Due: t0.Add(time.Hour)}, "[c d b a]"},
		{&spool.PendingOptions{Due: t0.Add(-time.Hour)}, "[]"},
		{&spool.PendingOptions{Limit: 2}, "[c d]"},
		{&spool.PendingOptions{Due: t0.Add(5 * time.Second), Limit: 1}, "[c]"},
	} {
		p, err := sp.Pending(ctx(t), tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(ids(p)); got != tc.want {
			t.Fatalf("Pending(%+v) = %s, want %s", tc.opts, got, tc.want)
		}
	}
	p, _ := sp.Pending(ctx(t), nil)
	if !slices.Equal(p[0].Steps, []string{"acceptance"}) || len(p[2].Retries) != 1 {
		t.Fatalf("Pending does not carry the states: %+v", p)
	}
}

func testComplete(t *testing.T, sp spool.Spool) {
	put(t, sp, newItem("q1"), 1, 100)
	put(t, sp, newItem("q2"), 2, 100)
	done(t, sp, "q1", "acceptance", []byte("receipt"))
	if _, err := sp.Retry(ctx(t), "q1", "relay", testTime, "x"); err != nil {
		t.Fatal(err)
	}
	open, err := sp.Body(ctx(t), "q1")
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Complete(ctx(t), "q1"); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	_, err = sp.Get(ctx(t), "q1")
	isNotFound(t, "Get after Complete", err)
	_, err = sp.Body(ctx(t), "q1")
	isNotFound(t, "Body after Complete", err)
	_, err = sp.Output(ctx(t), "q1", "acceptance")
	isNotFound(t, "Output after Complete", err)
	isNotFound(t, "Done after Complete", sp.Done(ctx(t), "q1", "relay", failReader{t, "Done after Complete"}))
	_, err = sp.Retry(ctx(t), "q1", "relay", testTime, "x")
	isNotFound(t, "Retry after Complete", err)
	isNotFound(t, "Complete twice", sp.Complete(ctx(t), "q1"))
	if p, _ := sp.Pending(ctx(t), nil); fmt.Sprint(ids(p)) != "[q2]" {
		t.Fatalf("Pending after Complete: %v", ids(p))
	}
	if n, sum := readSum(t, "a body opened before Complete", open); n != 100 || sum != genSum(1, 100) {
		t.Fatalf("a body opened before Complete read %d bytes, not the body", n)
	}
	checkBody(t, sp, "q2", 2, 100)
}

func testPutAgain(t *testing.T, sp spool.Spool) {
	put(t, sp, newItem("q1"), 1, 100)
	done(t, sp, "q1", "acceptance", []byte("old receipt"))
	if _, err := sp.Retry(ctx(t), "q1", "relay", testTime, "x"); err != nil {
		t.Fatal(err)
	}
	if err := sp.Complete(ctx(t), "q1"); err != nil {
		t.Fatal(err)
	}
	it := newItem("q1")
	it.From = "new@example.com"
	put(t, sp, it, 2, 200)
	st := get(t, sp, "q1")
	sameItem(t, "an ID put again after Complete", &st.Item, it)
	if len(st.Steps) != 0 || len(st.Retries) != 0 {
		t.Fatalf("an ID put again after Complete inherits steps %q and retries %v", st.Steps, st.Retries)
	}
	checkBody(t, sp, "q1", 2, 200)
	_, err := sp.Output(ctx(t), "q1", "acceptance")
	isNotFound(t, "Output of a step of the completed item", err)
	done(t, sp, "q1", "acceptance", []byte("new receipt"))
	if got := output(t, sp, "q1", "acceptance"); string(got) != "new receipt" {
		t.Fatalf("Output: %q", got)
	}
}
