package spooltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/provider/spool"
)

// Options describes the implementation under test. A nil *Options is
// the zero value.
type Options struct {
	// HoldsBodies says that the spool keeps bodies and outputs in memory
	// (spool.Memory): Run then skips the check that Put and Body stream
	// a large body without allocating its size.
	HoldsBodies bool
}

// Run checks that the spools open returns implement the spool.Spool
// contract. open is called once per subtest and must return a fresh,
// empty spool opened with the default options; Run closes it at the end
// of the subtest.
func Run(t *testing.T, open func(t *testing.T) spool.Spool, opts *Options) {
	var o Options
	if opts != nil {
		o = *opts
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, sp spool.Spool)
	}{
		{"Empty", testEmpty},
		{"PutGet", testPutGet},
		{"PutReceivedDefault", testReceivedDefault},
		{"PutExists", testExists},
		{"PutKeepsCopies", testCopies},
		{"PutEmptyBody", testEmptyBody},
		{"PutBodyError", testBodyError},
		{"BadIDs", testBadIDs},
		{"BadItems", testBadItems},
		{"BadSteps", testBadSteps},
		{"LargeBody", func(t *testing.T, sp spool.Spool) { testLarge(t, sp, !o.HoldsBodies) }},
		{"Steps", testSteps},
		{"StepsFirstOutputKept", testFirstKept},
		{"Retry", testRetry},
		{"Pending", testPending},
		{"Complete", testComplete},
		{"CompleteThenPutAgain", testPutAgain},
		{"Canceled", testCanceled},
		{"Concurrent", testConcurrent},
		{"ConcurrentSameStep", testSameStep},
		{"ConcurrentSameID", testSameID},
		{"Close", testClose},
		{"CloseInterruptsPut", testCloseInterrupts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sp := open(t)
			t.Cleanup(func() { sp.Close() })
			tc.fn(t, sp)
		})
	}
}

// ctx returns a context that ends with the test, or after a minute.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// testTime is a Received time with nanoseconds, which spools keep to the
// microsecond.
var testTime = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.FixedZone("CET", 3600))

// newItem returns an item with every field set.
func newItem(id string) *spool.Item {
	return &spool.Item{
		ID:       id,
		Role:     spool.RoleAccess,
		From:     "mario.rossi@pec.example.it",
		To:       []string{"anna.bianchi@pec.example.org", "luca.verdi@example.com", "àèìòù@pec.example.it"},
		User:     "mario.rossi",
		Peer:     "192.0.2.7:49152",
		Helo:     "client.example.it",
		Received: testTime,
		Meta:     map[string]string{"pec-id": "opec210.20260314092653.1234.01.1.1@pec.example.it", "tls": "TLS1.3", "": "empty key", "quote\"<&>": "line\r\nbreak"},
	}
}

// put puts it with a generated body of n bytes from seed.
func put(t *testing.T, sp spool.Spool, it *spool.Item, seed uint64, n int64) {
	t.Helper()
	if err := sp.Put(ctx(t), it, newGen(seed, n)); err != nil {
		t.Fatalf("Put %q: %v", it.ID, err)
	}
}

// sameItem fails the test unless got is want as a spool keeps it.
func sameItem(t *testing.T, what string, got, want *spool.Item) {
	t.Helper()
	w := *want
	w.Received = w.Received.Truncate(time.Microsecond)
	if got.ID != w.ID || got.Role != w.Role || got.From != w.From || !slices.Equal(got.To, w.To) ||
		got.User != w.User || got.Peer != w.Peer || got.Helo != w.Helo || !maps.Equal(got.Meta, w.Meta) {
		t.Fatalf("%s: item\n got %+v\nwant %+v", what, *got, w)
	}
	if !got.Received.Equal(w.Received) {
		t.Fatalf("%s: Received %v, want %v (to the microsecond)", what, got.Received, w.Received)
	}
	if got.Meta != nil && len(got.Meta) == 0 {
		t.Fatalf("%s: an empty Meta is returned as nil", what)
	}
}

// get returns the state of id, failing the test when it is not there.
func get(t *testing.T, sp spool.Spool, id string) *spool.State {
	t.Helper()
	st, err := sp.Get(ctx(t), id)
	if err != nil {
		t.Fatalf("Get %q: %v", id, err)
	}
	if st.Item.ID != id {
		t.Fatalf("Get %q returned item %q", id, st.Item.ID)
	}
	return st
}

// checkBody fails the test unless the body of id is newGen(seed, n).
func checkBody(t *testing.T, sp spool.Spool, id string, seed uint64, n int64) {
	t.Helper()
	rc, err := sp.Body(ctx(t), id)
	if err != nil {
		t.Fatalf("Body %q: %v", id, err)
	}
	got, sum := readSum(t, "body of "+id, rc)
	if got != n || sum != genSum(seed, n) {
		t.Fatalf("body of %q: %d bytes, not the %d bytes put", id, got, n)
	}
}

// output returns the output of step of id.
func output(t *testing.T, sp spool.Spool, id, step string) []byte {
	t.Helper()
	rc, err := sp.Output(ctx(t), id, step)
	if err != nil {
		t.Fatalf("Output %q %q: %v", id, step, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Output %q %q: reading: %v", id, step, err)
	}
	return b
}

func done(t *testing.T, sp spool.Spool, id, step string, out []byte) {
	t.Helper()
	if err := sp.Done(ctx(t), id, step, bytes.NewReader(out)); err != nil {
		t.Fatalf("Done %q %q: %v", id, step, err)
	}
}

// isNotFound fails the test unless err matches spool.ErrNotFound.
func isNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, spool.ErrNotFound) {
		t.Fatalf("%s: %v, want an error matching ErrNotFound", what, err)
	}
}

// ids returns the IDs of states.
func ids(sts []*spool.State) []string {
	var out []string
	for _, s := range sts {
		out = append(out, s.Item.ID)
	}
	return out
}

func testEmpty(t *testing.T, sp spool.Spool) {
	p, err := sp.Pending(ctx(t), nil)
	if err != nil || len(p) != 0 {
		t.Fatalf("Pending of an empty spool: %v, %v", ids(p), err)
	}
	_, err = sp.Get(ctx(t), "missing")
	isNotFound(t, "Get", err)
	_, err = sp.Body(ctx(t), "missing")
	isNotFound(t, "Body", err)
	_, err = sp.Output(ctx(t), "missing", "acceptance")
	isNotFound(t, "Output", err)
	isNotFound(t, "Done", sp.Done(ctx(t), "missing", "acceptance", failReader{t, "Done of a missing item"}))
	_, err = sp.Retry(ctx(t), "missing", "relay", testTime, "unreachable")
	isNotFound(t, "Retry", err)
	isNotFound(t, "Complete", sp.Complete(ctx(t), "missing"))
}

func testPutGet(t *testing.T, sp spool.Spool) {
	it := newItem("q1")
	put(t, sp, it, 1, 10_000)
	st := get(t, sp, "q1")
	sameItem(t, "Get", &st.Item, it)
	if st.Size != 10_000 || len(st.Steps) != 0 || len(st.Retries) != 0 {
		t.Fatalf("Get: size %d, steps %v, retries %v; want 10000 and none", st.Size, st.Steps, st.Retries)
	}
	if !st.Due().Equal(st.Item.Received) {
		t.Fatalf("Due of a new item %v, want its Received %v", st.Due(), st.Item.Received)
	}
	checkBody(t, sp, "q1", 1, 10_000)
	checkBody(t, sp, "q1", 1, 10_000) // again: a body is read as often as needed

	min := &spool.Item{ID: "Q-2_x.y@z+w=", Role: spool.RoleIncoming, Received: testTime}
	put(t, sp, min, 2, 1)
	sameItem(t, "Get of an item with only ID, Role and Received", &get(t, sp, min.ID).Item, min)

	p, err := sp.Pending(ctx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids(p)) != "[Q-2_x.y@z+w= q1]" {
		t.Fatalf("Pending: %v, want both items, ordered by ID at equal due times", ids(p))
	}
	sameItem(t, "Pending", &p[1].Item, it)
}

func testReceivedDefault(t *testing.T, sp spool.Spool) {
	it := newItem("q1")
	it.Received = time.Time{}
	before := time.Now().Truncate(time.Microsecond)
	put(t, sp, it, 1, 10)
	after := time.Now()
	got := get(t, sp, "q1").Item.Received
	if got.Before(before) || got.After(after) || got.Nanosecond()%1000 != 0 {
		t.Fatalf("Received of an item put with none: %v, want the time of Put (%v to %v) to the microsecond", got, before, after)
	}
	if !it.Received.IsZero() {
		t.Fatalf("Put changed the caller's item")
	}
}

func testExists(t *testing.T, sp spool.Spool) {
	put(t, sp, newItem("q1"), 1, 1000)
	other := newItem("q1")
	other.From = "someone.else@example.com"
	err := sp.Put(ctx(t), other, newGen(2, 5000))
	if !errors.Is(err, spool.ErrExists) {
		t.Fatalf("Put of an ID in the spool: %v, want ErrExists", err)
	}
	sameItem(t, "Get after a refused Put", &get(t, sp, "q1").Item, newItem("q1"))
	checkBody(t, sp, "q1", 1, 1000)
	if p, _ := sp.Pending(ctx(t), nil); len(p) != 1 {
		t.Fatalf("Pending after a refused Put: %v", ids(p))
	}
}

func testCopies(t *testing.T, sp spool.Spool) {
	it := newItem("q1")
	put(t, sp, it, 1, 10)
	it.To[0] = "changed@example.com"
	it.Meta["tls"] = "changed"
	st := get(t, sp, "q1")
	sameItem(t, "Get after the caller changed its item", &st.Item, newItem("q1"))
	st.Item.To[1] = "changed@example.com"
	st.Item.Meta["tls"] = "changed"
	sameItem(t, "Get after the caller changed a returned state", &get(t, sp, "q1").Item, newItem("q1"))
}

func testEmptyBody(t *testing.T, sp spool.Spool) {
	for _, tc := range []struct {
		id   string
		body io.Reader
	}{{"nil", nil}, {"empty", strings.NewReader("")}} {
		if err := sp.Put(ctx(t), newItem(tc.id), tc.body); err != nil {
			t.Fatalf("Put with a %s body: %v", tc.id, err)
		}
		if st := get(t, sp, tc.id); st.Size != 0 {
			t.Fatalf("Size of a %s body: %d", tc.id, st.Size)
		}
		checkBody(t, sp, tc.id, 0, 0)
	}
}

func testBodyError(t *testing.T, sp spool.Spool) {
	cause := errors.New("connection reset in DATA")
	err := sp.Put(ctx(t), newItem("q1"), &errReader{newGen(1, 300_000), cause})
	if !errors.Is(err, cause) {
		t.Fatalf("Put with a failing body: %v, want an error wrapping the reader's", err)
	}
	_, err = sp.Get(ctx(t), "q1")
	isNotFound(t, "Get after a failed Put", err)
	if p, _ := sp.Pending(ctx(t), nil); len(p) != 0 {
		t.Fatalf("Pending after a failed Put: %v", ids(p))
	}
	put(t, sp, newItem("q1"), 2, 100)
	checkBody(t, sp, "q1", 2, 100)
}
