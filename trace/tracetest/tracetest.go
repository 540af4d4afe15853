package tracetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pecsdk/pec/trace"
)

// Run checks that the stores open returns implement the trace.Store
// contract. open is called once per subtest and must return a fresh,
// empty store opened with the default options (in particular the default
// size limit, trace.DefaultMaxRecordSize); Run closes it at the end of the
// subtest.
func Run(t *testing.T, open func(t *testing.T) trace.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st trace.Store)
	}{
		{"Empty", testEmpty},
		{"AppendAssignsChain", testAppendAssigns},
		{"AppendOverridesCallerChain", testAppendOverrides},
		{"AppendKeepsCopies", testAppendCopies},
		{"AppendRefusesInvalid", testAppendInvalid},
		{"AppendRefusesTooLarge", testAppendTooLarge},
		{"AppendCanceled", testAppendCanceled},
		{"AppendEmpty", testAppendEmpty},
		{"Get", testGet},
		{"Scan", testScan},
		{"Query", testQuery},
		{"QueryLimit", testQueryLimit},
		{"Reissue", testReissue},
		{"Seals", testSeals},
		{"SealRefused", testSealRefused},
		{"Cut", testCut},
		{"CutEverything", testCutAll},
		{"CutRefused", testCutRefused},
		{"Concurrent", testConcurrent},
		{"Verify", testVerify},
		{"VerifyCheckpoint", testVerifyCheckpoint},
		{"Prune", testPrune},
		{"PruneRewritten", testPruneRewritten},
		{"PruneConcurrent", testPruneConcurrent},
		{"SealHead", testSealHead},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := open(t)
			t.Cleanup(func() { st.Close() })
			tc.fn(t, st)
		})
	}
}

// ctx returns a context that ends with the test, or after a minute.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// appendN appends NewRecords(from, n) one call per batch of up to batch
// records and returns them as the store completed them.
func appendN(t *testing.T, st trace.Store, from, n, batch int) []*trace.Record {
	t.Helper()
	recs := NewRecords(from, n)
	for i := 0; i < n; i += batch {
		j := min(i+batch, n)
		if err := st.Append(ctx(t), recs[i:j]...); err != nil {
			t.Fatalf("Append of records %d to %d: %v", from+i, from+j-1, err)
		}
	}
	return recs
}

// encode is the full canonical encoding of r: two records are the same
// exactly when their encodings are.
func encode(t *testing.T, r *trace.Record) []byte {
	t.Helper()
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameRecord fails the test unless got is want, field for field.
func sameRecord(t *testing.T, what string, got, want *trace.Record) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: nil record, want record %d", what, want.Seq)
	}
	if !bytes.Equal(encode(t, got), encode(t, want)) {
		t.Fatalf("%s: record differs from the one appended\n got %+v\nwant %+v", what, got, want)
	}
	if !got.Time.Equal(want.Time) {
		t.Fatalf("%s: Time %v, want %v", what, got.Time, want.Time)
	}
	if !got.Check() {
		t.Fatalf("%s: record %d does not check", what, got.Seq)
	}
}

// scanAll returns every record Scan gives from seq 0.
func scanAll(t *testing.T, st trace.Store) []*trace.Record {
	t.Helper()
	var out []*trace.Record
	if err := st.Scan(ctx(t), 0, func(r *trace.Record) error { out = append(out, r); return nil }); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return out
}

// checkLog fails the test unless the store holds exactly want, chained,
// after the checkpoint (or from the start), with Head on the last.
func checkLog(t *testing.T, st trace.Store, want []*trace.Record) {
	t.Helper()
	got := scanAll(t, st)
	if len(got) != len(want) {
		t.Fatalf("Scan gave %d records, want %d", len(got), len(want))
	}
	for i := range want {
		sameRecord(t, fmt.Sprintf("Scan record %d", want[i].Seq), got[i], want[i])
		if i > 0 && got[i].Prev != got[i-1].Hash {
			t.Fatalf("record %d: Prev is not the hash of record %d", got[i].Seq, got[i-1].Seq)
		}
	}
	seq, head, err := st.Head(ctx(t))
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if len(want) > 0 {
		last := want[len(want)-1]
		if seq != last.Seq || head != last.Hash {
			t.Fatalf("Head = (%d, %x), want (%d, %x)", seq, head[:4], last.Seq, last.Hash[:4])
		}
	}
	checkVerify(t, st)
}

func checkHead(t *testing.T, st trace.Store, wantSeq uint64, wantHead trace.Hash) {
	t.Helper()
	seq, head, err := st.Head(ctx(t))
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if seq != wantSeq || head != wantHead {
		t.Fatalf("Head = (%d, %x), want (%d, %x)", seq, head[:4], wantSeq, wantHead[:4])
	}
}

func testEmpty(t *testing.T, st trace.Store) {
	checkHead(t, st, 0, trace.Hash{})
	if _, err := st.Get(ctx(t), 1); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("Get(1) of an empty log: %v, want ErrNotFound", err)
	}
	if got := scanAll(t, st); len(got) != 0 {
		t.Errorf("Scan of an empty log gave %d records", len(got))
	}
	if got, err := st.Query(ctx(t), trace.Query{}); err != nil || len(got) != 0 {
		t.Errorf("Query of an empty log: %d records, %v", len(got), err)
	}
	if _, err := st.Reissue(ctx(t), "x@example.com"); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("Reissue in an empty log: %v, want ErrNotFound", err)
	}
	if s, err := st.Seals(ctx(t)); err != nil || len(s) != 0 {
		t.Errorf("Seals of an empty log: %d, %v", len(s), err)
	}
	if cp, err := st.Checkpoint(ctx(t)); err != nil || cp != nil {
		t.Errorf("Checkpoint of an empty log: %v, %v", cp, err)
	}
	checkVerify(t, st)
}

func testAppendAssigns(t *testing.T, st trace.Store) {
	first := NewRecord(0)
	if err := st.Append(ctx(t), first); err != nil {
		t.Fatal(err)
	}
	if first.Seq != 1 || !first.Prev.IsZero() {
		t.Fatalf("first record: Seq %d, Prev %x; want 1 and zero", first.Seq, first.Prev[:4])
	}
	if first.MessageHash != sha256.Sum256(first.Message) {
		t.Fatal("Append did not set MessageHash from the inline Message")
	}
	if first.Hash != first.ComputeHash() {
		t.Fatal("Append did not set Hash to ComputeHash")
	}
	checkHead(t, st, 1, first.Hash)

	batch := NewRecords(1, 9) // records 2..10, among them one by reference
	if err := st.Append(ctx(t), batch...); err != nil {
		t.Fatal(err)
	}
	prev := first
	for i, r := range batch {
		if r.Seq != uint64(i+2) || r.Prev != prev.Hash || r.Hash != r.ComputeHash() || !r.Check() {
			t.Fatalf("batch record %d: Seq %d, chained %v, hash right %v", i, r.Seq, r.Prev == prev.Hash, r.Hash == r.ComputeHash())
		}
		prev = r
	}
	all := append([]*trace.Record{first}, batch...)
	for _, r := range all {
		got, err := st.Get(ctx(t), r.Seq)
		if err != nil {
			t.Fatalf("Get(%d): %v", r.Seq, err)
		}
		sameRecord(t, fmt.Sprintf("Get(%d)", r.Seq), got, r)
	}
	checkLog(t, st, all)
}

func testAppendOverrides(t *testing.T, st trace.Store) {
	appendN(t, st, 0, 3, 3)
	r := NewRecord(3)
	r.Seq = 99
	r.Prev = trace.Hash{1, 2, 3}
	r.Hash = trace.Hash{4, 5, 6}
	if err := st.Append(ctx(t), r); err != nil {
		t.Fatal(err)
	}
	prev, err := st.Get(ctx(t), 3)
	if err != nil {
		t.Fatal(err)
	}
	if r.Seq != 4 || r.Prev != prev.Hash || r.Hash != r.ComputeHash() {
		t.Fatalf("the store kept the caller's chain fields: Seq %d", r.Seq)
	}
	got, err := st.Get(ctx(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, "Get(4)", got, r)
}

func testAppendCopies(t *testing.T, st trace.Store) {
	r := NewRecord(0)
	if err := st.Append(ctx(t), r); err != nil {
		t.Fatal(err)
	}
	want := r.Clone()
	r.Subject = "changed"
	r.Recipients[0].Address = "changed@example.com"
	r.Generated[0] = "changed@example.com"
	r.Message[0] ^= 0xff
	got, err := st.Get(ctx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, "Get after the caller changed its record", got, want)
	got.Subject = "changed"
	got.Recipients[0].Address = "changed@example.com"
	got.Message[0] ^= 0xff
	again, err := st.Get(ctx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, "Get after the caller changed a record it got", again, want)
	msg, err := st.Reissue(ctx(t), want.Generated[0])
	if err != nil {
		t.Fatal(err)
	}
	msg[0] ^= 0xff
	again2, err := st.Reissue(ctx(t), want.Generated[0])
	if err != nil || !bytes.Equal(again2, want.Message) {
		t.Fatalf("Reissue after the caller changed what Reissue returned: %v", err)
	}
}

func testAppendInvalid(t *testing.T, st trace.Store) {
	kept := appendN(t, st, 0, 2, 2)
	head := kept[1]
	badUTF8 := string([]byte{'a', 0xff, 'b'})
	tests := []struct {
		field string
		edit  func(r *trace.Record)
		name  string // when the field is not name enough
	}{
		{"Time", func(r *trace.Record) { r.Time = time.Time{} }, ""},
		{"Event", func(r *trace.Record) { r.Event = "Spedizione" }, ""},
		{"Point", func(r *trace.Record) { r.Point = "XX" }, ""},
		{"Kind", func(r *trace.Record) { r.Kind = 99 }, ""},
		{"MsgID", func(r *trace.Record) { r.MsgID, r.ClientMsgID = "", "" }, ""},
		{"MessageHash", func(r *trace.Record) { r.Message = []byte("x"); r.MessageHash = trace.Hash{1} }, ""},
		{"Subject", func(r *trace.Record) { r.Subject = badUTF8 }, ""},
		{"Sender", func(r *trace.Record) { r.Sender = badUTF8 }, ""},
		// A zone offset the encoding cannot hold would make the log unreadable.
		{"Time", func(r *trace.Record) { r.Time = r.Time.In(time.FixedZone("X", 19*3600)) }, "TimeZoneOffset"},
		{"Recipients", func(r *trace.Record) { r.Recipients[0].Address = "" }, "RecipientsEmpty"},
		{"Recipients", func(r *trace.Record) { r.Recipients[0].Address = badUTF8 }, "RecipientsUTF8"},
		{"Generated", func(r *trace.Record) { r.Message, r.Generated = nil, []string{"a@b", " "} }, "GeneratedEmpty"},
		{"Generated", func(r *trace.Record) { r.Message, r.Generated = nil, []string{badUTF8} }, "GeneratedUTF8"},
		// A message is kept for one identifier, its own.
		{"Generated", func(r *trace.Record) { r.Generated = append(r.Generated, "altro@pec.mittente.it") }, "GeneratedWithMessage"},
		{"Message", func(r *trace.Record) { r.Generated = []string{"altro@pec.mittente.it"} }, "MessageOfAnother"},
	}
	for _, tc := range tests {
		name := tc.name
		if name == "" {
			name = tc.field
		}
		t.Run(name, func(t *testing.T) {
			bad := NewRecord(3)
			tc.edit(bad)
			for _, batch := range [][]*trace.Record{{bad}, {NewRecord(2), bad}, {bad, NewRecord(4)}} {
				err := st.Append(ctx(t), batch...)
				var fe *trace.FieldError
				if !errors.Is(err, trace.ErrInvalid) || !errors.As(err, &fe) || fe.Field != tc.field {
					t.Fatalf("Append of a batch of %d with a bad %s: %v, want a *FieldError for %s", len(batch), tc.field, err, tc.field)
				}
				checkHead(t, st, head.Seq, head.Hash)
			}
		})
	}
	next := NewRecord(2)
	if err := st.Append(ctx(t), next); err != nil {
		t.Fatal(err)
	}
	if next.Seq != 3 || next.Prev != head.Hash {
		t.Fatalf("after refused batches, the next record got Seq %d", next.Seq)
	}
	checkLog(t, st, append(kept, next))
}

func testAppendTooLarge(t *testing.T, st trace.Store) {
	kept := appendN(t, st, 0, 1, 1)
	big := NewRecord(1)
	big.Message = bytes.Repeat([]byte("x"), trace.DefaultMaxRecordSize)
	big.MessageHash = trace.Hash{}
	for _, batch := range [][]*trace.Record{{big}, {NewRecord(2), big}} {
		if err := st.Append(ctx(t), batch...); !errors.Is(err, trace.ErrTooLarge) {
			t.Fatalf("Append of a record over the limit (batch of %d): %v, want ErrTooLarge", len(batch), err)
		}
		checkHead(t, st, 1, kept[0].Hash)
	}
	if _, err := st.Reissue(ctx(t), big.Generated[0]); !errors.Is(err, trace.ErrNotFound) {
		t.Fatalf("Reissue of a refused record: %v, want ErrNotFound", err)
	}
	checkLog(t, st, kept)
}

func testAppendCanceled(t *testing.T, st trace.Store) {
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	if err := st.Append(c, NewRecord(0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a canceled context: %v, want context.Canceled", err)
	}
	checkHead(t, st, 0, trace.Hash{})
	checkLog(t, st, nil)
}

func testAppendEmpty(t *testing.T, st trace.Store) {
	kept := appendN(t, st, 0, 1, 1)
	if err := st.Append(ctx(t)); err != nil {
		t.Fatalf("Append of nothing: %v", err)
	}
	checkLog(t, st, kept)
}

func testGet(t *testing.T, st trace.Store) {
	recs := appendN(t, st, 0, 12, 5)
	for _, seq := range []uint64{0, 13, 1 << 40} {
		if r, err := st.Get(ctx(t), seq); !errors.Is(err, trace.ErrNotFound) {
			t.Errorf("Get(%d): %v, %v; want ErrNotFound", seq, r, err)
		}
	}
	for _, r := range recs {
		got, err := st.Get(ctx(t), r.Seq)
		if err != nil {
			t.Fatalf("Get(%d): %v", r.Seq, err)
		}
		sameRecord(t, fmt.Sprintf("Get(%d)", r.Seq), got, r)
	}
}

func testScan(t *testing.T, st trace.Store) {
	recs := appendN(t, st, 0, 20, 7)
	for _, from := range []uint64{0, 1, 2, 13, 20, 21, 500} {
		var got []uint64
		err := st.Scan(ctx(t), from, func(r *trace.Record) error {
			if !r.Check() {
				return fmt.Errorf("record %d does not check", r.Seq)
			}
			got = append(got, r.Seq)
			return nil
		})
		if err != nil {
			t.Fatalf("Scan(%d): %v", from, err)
		}
		var want []uint64
		for _, r := range recs {
			if r.Seq >= from {
				want = append(want, r.Seq)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Scan(%d) gave %v, want %v", from, got, want)
		}
	}
	stop := errors.New("enough")
	n := 0
	err := st.Scan(ctx(t), 0, func(r *trace.Record) error {
		n++
		if r.Seq == 5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 5 {
		t.Fatalf("Scan stopped by fn after %d records with %v, want 5 and fn's error", n, err)
	}
}

// queryCases are the queries tried on a log of NewRecords(0, n), with
// values taken from the first 60 records.
func queryCases() []trace.Query {
	recs := NewRecords(0, 60)
	r3, r7 := recs[3*5+1], recs[7*5+3] // a transport record, a delivery
	at := func(i int) time.Time { return recs[i].Time }
	return []trace.Query{
		{},
		{MsgID: r3.MsgID},
		{MsgID: "<" + r3.MsgID + ">"},
		{MsgID: " <" + strings.Replace(r3.MsgID, "@pec.mittente.it", "@PEC.Mittente.IT", 1) + "> "},
		{MsgID: strings.ToUpper(r3.MsgID)}, // the local part is case-sensitive: nothing
		{MsgID: "nobody@pec.mittente.it"},
		{ClientMsgID: r7.ClientMsgID},
		{ClientMsgID: "<" + strings.ToLower(r7.ClientMsgID) + ">"},
		{Address: "utente3@pec.mittente.it"},
		{Address: "UTENTE3@PEC.MITTENTE.IT"},
		{Address: "<dest2@pec.destinatario.it>"},
		{Address: "Dest1@Pec.Destinatario.It"},
		{Address: "esterno0@example.com"},
		{Address: "nobody@example.com"},
		{Since: at(10)},
		{Until: at(10)},
		{Since: at(10), Until: at(25)},
		{Since: at(10).Add(time.Nanosecond), Until: at(25).Add(time.Nanosecond)},
		{Since: at(30).UTC(), Until: at(10)},
		{Address: "dest2@pec.destinatario.it", Since: at(12), Until: at(59)},
		{MsgID: r3.MsgID, Address: "dest3@pec.destinatario.it"},
		{MsgID: r3.MsgID, ClientMsgID: r3.ClientMsgID, Address: r3.Sender, Since: r3.Time, Until: r3.Time.Add(time.Second)},
		{MsgID: r3.MsgID, Since: at(20)},
	}
}

func seqs(recs []*trace.Record) []uint64 {
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}

func testQuery(t *testing.T, st trace.Store) {
	recs := appendN(t, st, 0, 60, 8)
	for _, q := range queryCases() {
		got, err := st.Query(ctx(t), q)
		if err != nil {
			t.Fatalf("Query(%+v): %v", q, err)
		}
		var want []*trace.Record
		for _, r := range recs {
			if q.Match(r) {
				want = append(want, r)
			}
		}
		if fmt.Sprint(seqs(got)) != fmt.Sprint(seqs(want)) {
			t.Errorf("Query(%+v) gave %v, want %v", q, seqs(got), seqs(want))
			continue
		}
		for i := range got {
			sameRecord(t, fmt.Sprintf("Query(%+v) result %d", q, i), got[i], want[i])
		}
	}
	// Match is the oracle above; pin what it must find.
	byMsg, _ := st.Query(ctx(t), trace.Query{MsgID: "<" + recs[15].MsgID + ">"})
	if fmt.Sprint(seqs(byMsg)) != "[16 17 18 19 20]" {
		t.Errorf("Query by MsgID of message 3 gave %v, want its five events", seqs(byMsg))
	}
	byAddr, _ := st.Query(ctx(t), trace.Query{Address: "DEST2@pec.destinatario.it"})
	if len(byAddr) != 10 {
		t.Errorf("Query by a recipient address in upper case gave %d records, want 10", len(byAddr))
	}
	window, _ := st.Query(ctx(t), trace.Query{Since: recs[10].Time, Until: recs[25].Time})
	if fmt.Sprint(seqs(window)) != fmt.Sprint(seqs(recs[10:25])) {
		t.Errorf("Query by time gave %v, want records 11 to 25", seqs(window))
	}
	// A taking charge of several recipients names them all in Reception;
	// each of them finds it.
	multi := NewRecord(2)
	multi.Reception = "primo@pec.presa.example, Secondo@pec.presa.example"
	if err := st.Append(ctx(t), multi); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"primo@pec.presa.example", "SECONDO@pec.presa.example"} {
		got, err := st.Query(ctx(t), trace.Query{Address: a})
		if err != nil || len(got) != 1 || got[0].Seq != multi.Seq {
			t.Errorf("Query by %s, one of several in Reception, gave %v (%v), want [%d]", a, seqs(got), err, multi.Seq)
		}
	}
	// Identifiers and addresses written in other forms than the query's
	// (brackets, folded white space, case of the domain, beyond ASCII)
	// are found whenever Match accepts them: an index must not miss them.
	forms := []struct{ stored, asked string }{
		{"opec.1 2@Pec.É.it", "opec.12@pec.é.it"},
		{" <opec.3@PEC.ÀÈ.IT> ", "opec.3@pec.àè.it"},
		{"opec.4@pec.\u00c9.it", "<opec.4@PEC.\u00e9.IT>"},
		{"Opec.5 @pec.it", "Opec.5@PEC.IT"},
		{"<opec.6@pec.it\u00a0>", "opec.6@pec.it"},
		{"<\u00a0opec.7@pec.it>", "<opec.7@pec.it>"},
		{"<<opec.8 @pec.it>>", "<<opec.8@pec.it>>"},
		{"\u2028<opec.9@Pec.IT>\t", "opec.9@pec.it"},
	}
	for i, f := range forms {
		r := NewRecord(1000 + i)
		r.MsgID, r.ClientMsgID, r.Sender = f.stored, f.stored, f.stored
		if err := st.Append(ctx(t), r); err != nil {
			t.Fatal(err)
		}
		for _, q := range []trace.Query{{MsgID: f.asked}, {ClientMsgID: f.asked}, {Address: f.asked}} {
			if !q.Match(r) {
				t.Fatalf("Match(%+v) refuses %q: the case is wrong", q, f.stored)
			}
			got, err := st.Query(ctx(t), q)
			if err != nil || !slices.ContainsFunc(got, func(g *trace.Record) bool { return g.Seq == r.Seq }) {
				t.Errorf("Query(%+v) misses the record stored as %q (%v)", q, f.stored, err)
			}
		}
	}
	// An identifier or address of brackets and space alone matches
	// nothing, not the records without one.
	for _, q := range []trace.Query{{MsgID: "<>"}, {ClientMsgID: " < > "}, {Address: "<>"}, {ClientMsgID: "\t"}} {
		got, err := st.Query(ctx(t), q)
		if err != nil || len(got) != 0 {
			t.Errorf("Query(%+v) gave %d records (%v), want none", q, len(got), err)
		}
	}
}

func testQueryLimit(t *testing.T, st trace.Store) {
	recs := appendN(t, st, 0, 40, 40)
	for _, tc := range []struct {
		q    trace.Query
		want int
	}{
		{trace.Query{Limit: 7}, 7},
		{trace.Query{Limit: 100}, 40},
		{trace.Query{Address: "dest1@pec.destinatario.it", Limit: 3}, 3},
		{trace.Query{MsgID: recs[0].MsgID, Limit: 2}, 2},
		{trace.Query{Since: recs[30].Time, Limit: 4}, 4},
	} {
		got, err := st.Query(ctx(t), tc.q)
		if err != nil {
			t.Fatal(err)
		}
		var want []*trace.Record
		for _, r := range recs {
			if tc.q.Match(r) && len(want) < tc.want {
				want = append(want, r)
			}
		}
		if len(want) != tc.want || fmt.Sprint(seqs(got)) != fmt.Sprint(seqs(want)) {
			t.Errorf("Query(%+v) gave %v, want the first %d matches %v", tc.q, seqs(got), tc.want, seqs(want))
		}
	}
}

func testReissue(t *testing.T, st trace.Store) {
	recs := appendN(t, st, 0, 30, 4)
	n := 0
	for _, r := range recs {
		if len(r.Message) == 0 {
			continue
		}
		n++
		id := r.Generated[0]
		for _, form := range []string{id, "<" + id + ">", " " + strings.Replace(id, "@pec.mittente.it", "@Pec.Mittente.It", 1)} {
			got, err := st.Reissue(ctx(t), form)
			if err != nil {
				t.Fatalf("Reissue(%q): %v", form, err)
			}
			if !bytes.Equal(got, r.Message) {
				t.Fatalf("Reissue(%q) is not byte-identical to the message logged with record %d", form, r.Seq)
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d records with an inline message", n)
	}
	for _, id := range []string{"nobody@pec.mittente.it", strings.ToUpper(recs[0].Generated[0]), ""} {
		if _, err := st.Reissue(ctx(t), id); !errors.Is(err, trace.ErrNotFound) {
			t.Errorf("Reissue(%q): %v, want ErrNotFound", id, err)
		}
	}

	// Reissue returns a message only for its own identifier: a record
	// that lists several generated messages keeps none of their bytes, and
	// a message is never logged under another's identifier.
	envelope, acceptance := "busta.A@pec.mittente.it", "accettazione.B@pec.mittente.it"
	both := NewRecord(1)
	both.Generated, both.Message, both.MessageRef, both.MessageHash = []string{envelope, acceptance}, nil, "", trace.Hash{}
	if err := st.Append(ctx(t), both); err != nil {
		t.Fatalf("Append of a record listing two generated messages: %v", err)
	}
	msgA := []byte("Message-ID: <" + envelope + ">\r\nSubject: POSTA CERTIFICATA: x\r\n\r\nbusta")
	for _, gen := range [][]string{{envelope, acceptance}, {acceptance}} {
		bad := NewRecord(1)
		bad.Generated, bad.Message, bad.MessageRef, bad.MessageHash = gen, msgA, "", trace.Hash{}
		if err := st.Append(ctx(t), bad); !errors.Is(err, trace.ErrInvalid) {
			t.Fatalf("Append of the bytes of <%s> for %v: %v, want ErrInvalid", envelope, gen, err)
		}
	}
	for _, id := range []string{envelope, acceptance} {
		if got, err := st.Reissue(ctx(t), id); !errors.Is(err, trace.ErrNotFound) {
			t.Errorf("Reissue(%q) of a message never logged: %.40q, %v; want ErrNotFound", id, got, err)
		}
	}
	own := NewRecord(1)
	own.Generated, own.Message, own.MessageRef, own.MessageHash = []string{envelope}, msgA, "", trace.Hash{}
	if err := st.Append(ctx(t), own); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Reissue(ctx(t), envelope); err != nil || !bytes.Equal(got, msgA) {
		t.Fatalf("Reissue(%q): %.40q, %v; want the message logged for it", envelope, got, err)
	}
	if got, err := st.Reissue(ctx(t), acceptance); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("Reissue(%q) returned the bytes of <%s>: %.40q, %v", acceptance, envelope, got, err)
	}
}

// testSeal returns a seal of the record, signed by Signer at at.
func testSeal(t *testing.T, r *trace.Record, at time.Time) *trace.Seal {
	t.Helper()
	s, err := trace.NewSeal(r.Seq, r.Hash, at, signer(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testCheckpoint returns a checkpoint at the record, signed by Signer.
func testCheckpoint(t *testing.T, r *trace.Record, before, at time.Time) *trace.Checkpoint {
	t.Helper()
	c, err := trace.NewCheckpoint(r.Seq, r.Hash, before, at, signer(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sameSeal(t *testing.T, what string, got, want *trace.Seal) {
	t.Helper()
	if got.Seq != want.Seq || got.Head != want.Head || !got.Time.Equal(want.Time) || !bytes.Equal(got.Signature, want.Signature) ||
		!bytes.Equal(got.SignedBytes(), want.SignedBytes()) {
		t.Fatalf("%s: seal %+v, want %+v", what, got, want)
	}
}

func testSeals(t *testing.T, st trace.Store) {
	recs := appendN(t, st, 0, 10, 10)
	var want []*trace.Seal
	for _, i := range []int{3, 6, 9} {
		s := testSeal(t, recs[i], recs[i].Time.Add(time.Minute+time.Nanosecond))
		if err := st.AddSeal(ctx(t), s); err != nil {
			t.Fatalf("AddSeal(%d): %v", s.Seq, err)
		}
		want = append(want, s)
	}
	got, err := st.Seals(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Seals gave %d seals, want %d", len(got), len(want))
	}
	for i := range want {
		sameSeal(t, fmt.Sprintf("seal %d", i), got[i], want[i])
	}
	want[0].Signature[0] ^= 0xff
	again, err := st.Seals(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Signature[0] == want[0].Signature[0] {
		t.Fatal("the store keeps the caller's Signature slice, not a copy")
	}
}

func testSealRefused(t *testing.T, st trace.Store) {
	recs := appendN(t, st, 0, 5, 5)
	bad := []*trace.Seal{
		{Seq: 3, Head: recs[3].Hash, Time: recs[4].Time}, // the head of another record
		{Seq: 6, Head: recs[4].Hash, Time: recs[4].Time}, // past the head
		{Seq: 0, Time: recs[4].Time},                     // nothing to seal
	}
	for _, s := range bad {
		if err := st.AddSeal(ctx(t), s); !errors.Is(err, trace.ErrSealMismatch) {
			t.Errorf("AddSeal(seq %d, a wrong head): %v, want ErrSealMismatch", s.Seq, err)
		}
	}
	if got, err := st.Seals(ctx(t)); err != nil || len(got) != 0 {
		t.Fatalf("after refused seals, Seals gave %d, %v", len(got), err)
	}
}

func testCut(t *testing.T, st trace.Store) {
	recs := appendN(t, st, 0, 30, 6)
	for _, i := range []int{4, 9, 19} {
		if err := st.AddSeal(ctx(t), testSeal(t, recs[i], recs[i].Time)); err != nil {
			t.Fatal(err)
		}
	}
	cp := testCheckpoint(t, recs[9], recs[10].Time, recs[29].Time.Add(time.Hour))
	if err := st.Cut(ctx(t), cp); err != nil {
		t.Fatalf("Cut: %v", err)
	}
	got, err := st.Checkpoint(ctx(t))
	if err != nil || got == nil {
		t.Fatalf("Checkpoint after Cut: %v, %v", got, err)
	}
	if got.Seq != cp.Seq || got.Head != cp.Head || !got.Before.Equal(cp.Before) || !got.Time.Equal(cp.Time) ||
		!bytes.Equal(got.Signature, cp.Signature) || !bytes.Equal(got.SignedBytes(), cp.SignedBytes()) {
		t.Fatalf("Checkpoint = %+v, want %+v", got, cp)
	}
	for _, r := range recs[:10] {
		if _, err := st.Get(ctx(t), r.Seq); !errors.Is(err, trace.ErrNotFound) {
			t.Fatalf("Get(%d) of a record cut: %v, want ErrNotFound", r.Seq, err)
		}
		if len(r.Message) > 0 {
			if _, err := st.Reissue(ctx(t), r.Generated[0]); !errors.Is(err, trace.ErrNotFound) {
				t.Fatalf("Reissue of the message of record %d, cut: %v, want ErrNotFound", r.Seq, err)
			}
		}
	}
	for _, q := range queryCases() {
		res, err := st.Query(ctx(t), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Seq <= cp.Seq {
				t.Fatalf("Query(%+v) gave record %d, which was cut", q, r.Seq)
			}
		}
	}
	seals, err := st.Seals(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(seals) != 1 || seals[0].Seq != 20 {
		t.Fatalf("after Cut at 10, seals %v remain; want only the seal of record 20", sealSeqs(seals))
	}
	checkLog(t, st, recs[10:])
	more := NewRecords(30, 3)
	if err := st.Append(ctx(t), more...); err != nil {
		t.Fatal(err)
	}
	if more[0].Seq != 31 || more[0].Prev != recs[29].Hash {
		t.Fatalf("after Cut, the next record got Seq %d", more[0].Seq)
	}
	checkLog(t, st, append(recs[10:], more...))

	// A later cut replaces the checkpoint.
	cp2 := testCheckpoint(t, recs[24], recs[25].Time, cp.Time.Add(time.Hour))
	if err := st.Cut(ctx(t), cp2); err != nil {
		t.Fatalf("second Cut: %v", err)
	}
	if got, _ := st.Checkpoint(ctx(t)); got == nil || got.Seq != 25 {
		t.Fatalf("after a second Cut the checkpoint is %+v", got)
	}
	if seals, _ := st.Seals(ctx(t)); len(seals) != 0 {
		t.Fatalf("after Cut at 25, seals %v remain", sealSeqs(seals))
	}
	checkLog(t, st, append(recs[25:], more...))
}

func sealSeqs(s []*trace.Seal) []uint64 {
	out := make([]uint64, len(s))
	for i, x := range s {
		out[i] = x.Seq
	}
	return out
}

func testCutAll(t *testing.T, st trace.Store) {
	recs := appendN(t, st, 0, 5, 5)
	last := recs[4]
	if err := st.Cut(ctx(t), testCheckpoint(t, last, last.Time.Add(time.Second), last.Time.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	checkHead(t, st, 5, last.Hash)
	if got := scanAll(t, st); len(got) != 0 {
		t.Fatalf("Scan after cutting everything gave %d records", len(got))
	}
	if got, _ := st.Query(ctx(t), trace.Query{}); len(got) != 0 {
		t.Fatalf("Query after cutting everything gave %d records", len(got))
	}
	checkVerify(t, st)
	next := NewRecord(5)
	if err := st.Append(ctx(t), next); err != nil {
		t.Fatal(err)
	}
	if next.Seq != 6 || next.Prev != last.Hash {
		t.Fatalf("after cutting everything, the next record got Seq %d", next.Seq)
	}
	checkLog(t, st, []*trace.Record{next})
}

func testCutRefused(t *testing.T, st trace.Store) {
	recs := appendN(t, st, 0, 8, 8)
	for _, cp := range []*trace.Checkpoint{
		{Seq: 4, Head: recs[4].Hash, Before: recs[5].Time, Time: recs[7].Time},
		{Seq: 9, Head: recs[7].Hash, Before: recs[7].Time, Time: recs[7].Time},
		{Seq: 0, Before: recs[0].Time, Time: recs[7].Time},
	} {
		if err := st.Cut(ctx(t), cp); !errors.Is(err, trace.ErrSealMismatch) {
			t.Errorf("Cut(seq %d, wrong head): %v, want ErrSealMismatch", cp.Seq, err)
		}
	}
	if cp, err := st.Checkpoint(ctx(t)); cp != nil || err != nil {
		t.Fatalf("a refused Cut left checkpoint %+v, %v", cp, err)
	}
	checkLog(t, st, recs)
	if err := st.Cut(ctx(t), testCheckpoint(t, recs[3], recs[4].Time, recs[7].Time)); err != nil {
		t.Fatal(err)
	}
	if err := st.Cut(ctx(t), testCheckpoint(t, recs[1], recs[2].Time, recs[7].Time)); err == nil {
		t.Fatal("Cut behind the checkpoint succeeded")
	}
	checkLog(t, st, recs[4:])
}

func testConcurrent(t *testing.T, st trace.Store) {
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each+writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				n := 1 + (w+i)%3
				recs := NewRecords((w*each+i)*3, n)
				if err := st.Append(ctx(t), recs...); err != nil {
					errs <- err
					return
				}
				for j := 1; j < n; j++ {
					if recs[j].Seq != recs[j-1].Seq+1 || recs[j].Prev != recs[j-1].Hash {
						errs <- fmt.Errorf("a batch was split: records %d and %d", recs[j-1].Seq, recs[j].Seq)
						return
					}
				}
				// What an Append made durable is visible once it returns,
				// to this goroutine and to the others.
				last := recs[n-1]
				if got, err := st.Get(ctx(t), last.Seq); err != nil || got.Hash != last.Hash {
					errs <- fmt.Errorf("record %d, appended, is not read back: %v", last.Seq, err)
					return
				}
				if seq, _, err := st.Head(ctx(t)); err != nil || seq < last.Seq {
					errs <- fmt.Errorf("Head %d after record %d was appended (%v)", seq, last.Seq, err)
					return
				}
				if got, err := st.Query(ctx(t), trace.Query{MsgID: last.MsgID}); err != nil || !slices.ContainsFunc(got, func(r *trace.Record) bool { return r.Seq == last.Seq }) {
					errs <- fmt.Errorf("record %d, appended, is not found by its MsgID (%v)", last.Seq, err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // readers meanwhile
		defer wg.Done()
		for range 50 {
			if _, _, err := st.Head(ctx(t)); err != nil {
				errs <- err
				return
			}
			if _, err := st.Query(ctx(t), trace.Query{Address: "dest1@pec.destinatario.it", Limit: 5}); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all := scanAll(t, st)
	total := 0
	for w := range writers {
		for i := range each {
			total += 1 + (w+i)%3
		}
	}
	if len(all) != total {
		t.Fatalf("after concurrent appends, %d records, want %d", len(all), total)
	}
	var prev trace.Hash
	for i, r := range all {
		if r.Seq != uint64(i+1) || r.Prev != prev || !r.Check() {
			t.Fatalf("the chain forked or has a gap at record %d (Seq %d)", i+1, r.Seq)
		}
		prev = r.Hash
	}
	checkHead(t, st, uint64(total), prev)
	checkVerify(t, st)
}

func testClose(t *testing.T, st trace.Store) {
	appendN(t, st, 0, 2, 2)
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := st.Append(ctx(t), NewRecord(2)); !errors.Is(err, trace.ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}
}
