package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/sample"
)

// FuzzReplay feeds arbitrary journals to the store's replay. It must never
// panic; what it accepts must re-encode to records that decode the same
// (decode → encode → decode is stable); the offset it keeps must be a prefix
// that replays cleanly; and the records must fold into a tracker without
// panic.
func FuzzReplay(f *testing.F) {
	// The seeds in testdata/fuzz/FuzzReplay include journals written by the
	// tracker (see journalSeeds); building them here would sign receipts in
	// every fuzzing worker.
	f.Add([]byte("{}\n"))
	f.Add([]byte(`{"v":1,"sent":{"msgid":"a@b","time":"2026-09-14T09:00:00+02:00"}}` + "\n"))
	f.Add([]byte(`{"v":1,"receipt":{"kind":"delivery","sha256":"00","time":"0001-01-01T00:00:00Z","verified":true}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var recs []*record
		end, torn, err := replayJournal(bytes.NewReader(data), func(r *record) { recs = append(recs, r) })
		if end < 0 || end > int64(len(data)) {
			t.Fatalf("end %d outside the input of %d bytes", end, len(data))
		}
		if err != nil {
			if !errors.Is(err, ErrCorruptStore) {
				t.Fatalf("err = %v, want ErrCorruptStore", err)
			}
			return
		}
		if torn != nil && !errors.Is(torn, ErrTornRecord) {
			t.Fatalf("torn = %v", torn)
		}
		var again []*record
		end2, torn2, err2 := replayJournal(bytes.NewReader(data[:end]), func(r *record) { again = append(again, r) })
		if err2 != nil || torn2 != nil || end2 != end || len(again) != len(recs) {
			t.Fatalf("the kept prefix does not replay cleanly: %v, %v, %d/%d", err2, torn2, end2, end)
		}
		var buf bytes.Buffer
		for _, r := range recs {
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatalf("re-encoding %+v: %v", r, err)
			}
			buf.Write(append(b, '\n'))
		}
		var round []*record
		if _, torn, err := replayJournal(&buf, func(r *record) { round = append(round, r) }); err != nil || torn != nil {
			t.Fatalf("re-encoded journal: %v, %v", err, torn)
		}
		for i := range recs {
			if !reflect.DeepEqual(normRecord(recs[i]), normRecord(round[i])) {
				t.Fatalf("record %d changed through encode and decode:\n%+v\n%+v", i, recs[i], round[i])
			}
		}
		tr, _ := OpenTracker("", nil)
		for _, r := range recs {
			tr.apply(r)
		}
		for _, st := range tr.List() {
			st.Final()
		}
	})
}

// normRecord drops the monotonic and location details of the times, which
// JSON does not keep.
func normRecord(r *record) record {
	c := *r
	if r.Sent != nil {
		s := *r.Sent
		s.Time = s.Time.UTC()
		c.Sent = &s
	}
	if r.Receipt != nil {
		o := *r.Receipt
		o.Time = o.Time.UTC()
		c.Receipt = &o
	}
	return c
}

// journalSeeds are real journals written by the tracker, and edits of them:
// the seeds of FuzzReplay kept under testdata/fuzz.
func journalSeeds(f testing.TB) [][]byte {
	dir := f.TempDir()
	tr, err := OpenTracker(dir, &TrackerOptions{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	m := newSent(1, sampleTime, []string{bob, dora}, []string{carol})
	if err := tr.Register(m.sent); err != nil {
		f.Fatal(err)
	}
	for _, s := range []step{acc(), at(pec.KindTakeInCharge, 0, bob, dora), at(pec.KindDeliverySummary, 0.01, bob), at(pec.KindDeliveryError, 0.01, dora)} {
		if _, err := tr.Observe(classifyBytes(f, m.build(f, s.kind, s.after, s.rcpt...))); err != nil {
			f.Fatal(err)
		}
	}
	tr.Close()
	full, err := os.ReadFile(filepath.Join(dir, journalName))
	if err != nil {
		f.Fatal(err)
	}
	return [][]byte{
		full,
		full[:len(full)/2],
		append(append([]byte{}, full...), full...),
		bytes.ReplaceAll(full, []byte(`"v":1`), []byte(`"v":1.5`)),
	}
}

// FuzzClassify: any input is classified without panic or error (the input
// is in memory, so always readable); the kind agrees with what was parsed;
// a receipt keeps exactly its input as evidence; and classifying again
// gives the same reading.
//
// An input is an edit of one of the signed sample messages (which, modulo
// their number plus one): cut bytes at offset at (modulo the message's
// length) replaced by data; or, for the last value of which, data alone.
// Every execution thus reads a realistic message (header fields, MIME
// tree, certification data, signature) while the fuzzer's inputs stay
// short: Go's fuzzer minimises each new input it keeps with a number of
// executions quadratic in its length (up to -fuzzminimizetime, a minute),
// reporting 0 executions a second meanwhile. Longer data (maxInsert for an
// edit, maxRaw alone) is not read at all, so never kept.
func FuzzClassify(f *testing.F) {
	msgs := fuzzMessages(f)
	raw := uint8(len(msgs))
	for i, m := range msgs {
		f.Add(uint8(i), uint16(0), uint16(0), []byte{})
		// The PEC header value, the certification data and the
		// signature, each damaged.
		for _, mark := range []string{"X-Ricevuta: ", "X-Trasporto: ", "<identificativo>", `filename="smime.p7s"`} {
			if at := bytes.Index(m, []byte(mark)); at >= 0 {
				f.Add(uint8(i), uint16(at+len(mark)), uint16(4), []byte("x"))
			}
		}
	}
	f.Add(raw, uint16(0), uint16(0), []byte(sample.Ordinary))
	f.Add(raw, uint16(0), uint16(0), []byte("X-Ricevuta: avvenuta-consegna\r\n\r\n"))
	f.Fuzz(func(t *testing.T, which uint8, at, cut uint16, data []byte) {
		data, ok := editMessage(msgs, which, at, cut, data)
		if !ok {
			return
		}
		m, err := Classify(bytes.NewReader(data), nil)
		if err != nil {
			t.Fatalf("err = %v for input in memory", err)
		}
		switch {
		case m.Kind == pec.KindUnknown && (m.Envelope != nil || m.Receipt != nil):
			t.Fatal("unknown kind with a parse")
		case m.Kind.IsEnvelope() && (m.Envelope == nil || m.Envelope.Kind != m.Kind):
			t.Fatal("envelope kind without its envelope")
		case m.Kind.IsReceipt() && (m.Receipt == nil || m.Receipt.Kind != m.Kind || !bytes.Equal(m.raw, data)):
			t.Fatal("receipt kind without its receipt or bytes")
		}
		again, err := Classify(bytes.NewReader(data), nil)
		if err != nil || again.Kind != m.Kind || again.MessageID != m.MessageID || again.Digest != m.Digest || len(again.Problems) != len(m.Problems) {
			t.Fatalf("second reading differs: %v %s/%s", err, again.Kind, m.Kind)
		}
		if m.Receipt != nil {
			tr, _ := OpenTracker("", &TrackerOptions{AllowUnverified: true})
			tr.Observe(m)
			tr.Close()
		}
	})
}

// Bounds on the data of a FuzzClassify input: inserted into a message, or
// a message of its own.
const (
	maxInsert = 32
	maxRaw    = 256
)

// editMessage returns the input of FuzzClassify: message which%(n+1) of
// the n msgs with cut bytes at offset at replaced by data, or data alone
// when which%(n+1) is n. It reports false when data is longer than
// maxInsert or maxRaw.
func editMessage(msgs [][]byte, which uint8, at, cut uint16, data []byte) ([]byte, bool) {
	k := int(which) % (len(msgs) + 1)
	if k == len(msgs) {
		return data, len(data) <= maxRaw
	}
	if len(data) > maxInsert {
		return nil, false
	}
	base := msgs[k]
	i := int(at) % (len(base) + 1)
	j := min(i+int(cut), len(base))
	out := make([]byte, 0, len(base)-(j-i)+len(data))
	return append(append(append(out, base[:i]...), data...), base[j:]...), true
}

// fuzzMessageDir holds the signed sample message of every kind, written by
// TestFuzzSeeds: signing them in every fuzzing worker would be slow.
var fuzzMessageDir = filepath.Join("testdata", "messages")

// fuzzMessages reads the messages of fuzzMessageDir, in the order of their
// names.
func fuzzMessages(tb testing.TB) [][]byte {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join(fuzzMessageDir, "*.eml"))
	if err != nil || len(names) == 0 {
		tb.Fatalf("no messages in %s (%v): run go test -run TestFuzzSeeds -fuzz.seeds", fuzzMessageDir, err)
	}
	sort.Strings(names)
	var msgs [][]byte
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		msgs = append(msgs, b)
	}
	return msgs
}

var writeSeeds = flag.Bool("fuzz.seeds", false, "rewrite the fuzz seeds made from the sample set under testdata/fuzz")

// TestFuzzSeeds writes what is costly to build (the signed messages that
// FuzzClassify edits, and the journals that record them, FuzzReplay's
// seeds) with -fuzz.seeds, and otherwise checks that they are there.
func TestFuzzSeeds(t *testing.T) {
	if *writeSeeds {
		files := map[string][]byte{}
		for k, b := range samples(t).Messages {
			files[filepath.Join(fuzzMessageDir, k.String()+".eml")] = b
		}
		for i, b := range journalSeeds(t) {
			files[filepath.Join("testdata", "fuzz", "FuzzReplay", fmt.Sprintf("journal-%d", i))] = []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b))
		}
		for p, b := range files {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// One message per kind, each read as its kind with an intact
	// signature.
	for _, k := range pec.Kinds {
		b, err := os.ReadFile(filepath.Join(fuzzMessageDir, k.String()+".eml"))
		if err != nil {
			t.Errorf("%v: run go test -run TestFuzzSeeds -fuzz.seeds", err)
			continue
		}
		if m, err := Classify(bytes.NewReader(b), nil); err != nil || m.Kind != k || m.Signature == nil || !m.Signature.Intact {
			t.Errorf("%s.eml: %v, kind %v, signature %+v", k, err, m.Kind, m.Signature)
		}
	}
	if n := len(fuzzMessages(t)); n != len(pec.Kinds) {
		t.Errorf("%d messages in %s, want %d", n, fuzzMessageDir, len(pec.Kinds))
	}
	if m, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzReplay", "journal-*")); len(m) == 0 {
		t.Error("no seeds FuzzReplay/journal-*: run go test -run TestFuzzSeeds -fuzz.seeds")
	}
}
