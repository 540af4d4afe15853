package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/pecsdk/pec/pec"
)

// FuzzReplay feeds arbitrary journals to the store's replay. It must never
// panic; what it accepts must re-encode to records that decode the same
// (decode → encode → decode is stable); the offset it keeps must be a prefix
// that replays cleanly; and the records must fold into a tracker without
// panic.
func FuzzReplay(f *testing.F) {
	for _, seed := range replaySeeds(f) {
		f.Add(seed)
	}
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

// replaySeeds are real journals written by the tracker, and edits of them.
func replaySeeds(f *testing.F) [][]byte {
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
		[]byte("{}\n"),
		[]byte(`{"v":1,"sent":{"msgid":"a@b","time":"2026-09-14T09:00:00+02:00"}}` + "\n"),
		[]byte(`{"v":1,"receipt":{"kind":"delivery","sha256":"00","time":"0001-01-01T00:00:00Z","verified":true}}`),
	}
}
