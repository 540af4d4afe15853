package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec"
)

// snapshot is the whole visible state of a tracker, for comparisons.
func snapshot(tb testing.TB, tr *Tracker) string {
	tb.Helper()
	b, err := json.MarshalIndent(tr.List(), "", " ")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// storeFixture registers two messages and feeds some receipts, returning the
// receipts' bytes by name.
func storeFixture(t *testing.T, tr *Tracker) map[string][]byte {
	t.Helper()
	m1 := newSent(1, sampleTime, []string{bob, dora}, []string{carol})
	m2 := newSent(2, sampleTime.Add(1), []string{bob}, nil)
	for _, m := range []*sentMsg{m1, m2} {
		if err := tr.Register(m.sent); err != nil {
			t.Fatal(err)
		}
	}
	rs := map[string][]byte{
		"acc1":  m1.build(t, pec.KindAcceptance, 0),
		"pic1":  m1.build(t, pec.KindTakeInCharge, 0, bob, dora),
		"del1":  m1.build(t, pec.KindDelivery, 6*time.Minute, bob),
		"err1":  m1.build(t, pec.KindDeliveryError, 6*time.Minute, dora),
		"acc2":  m2.build(t, pec.KindAcceptance, 0),
		"w12":   m2.build(t, pec.KindDeliveryTimeout12h, 12*time.Hour, bob),
		"other": newSent(3, sampleTime, []string{bob}, nil).build(t, pec.KindAcceptance, 0),
	}
	for _, k := range []string{"acc1", "pic1", "del1", "err1", "acc2", "other"} {
		_, err := tr.Observe(classifyBytes(t, rs[k]))
		if err != nil && !(k == "other" && errors.Is(err, ErrUnknownMessage)) {
			t.Fatalf("%s: %v", k, err)
		}
	}
	return rs
}

// TestStoreReopen: what a tracker learnt survives Close and OpenTracker,
// with the evidence bytes on disk, and duplicates are still recognised.
func TestStoreReopen(t *testing.T) {
	for _, form := range []string{"dir", "new dir/", "file"} {
		t.Run(form, func(t *testing.T) {
			base := t.TempDir()
			path := map[string]string{"dir": base, "new dir/": filepath.Join(base, "store") + "/", "file": filepath.Join(base, "pec.jsonl")}[form]
			tr, err := OpenTracker(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			rs := storeFixture(t, tr)
			before := snapshot(t, tr)
			if err := tr.Close(); err != nil {
				t.Fatal(err)
			}
			tr, err = OpenTracker(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			if tr.Repaired() != nil {
				t.Fatalf("Repaired = %v", tr.Repaired())
			}
			if after := snapshot(t, tr); after != before {
				t.Fatalf("state after reopen differs:\n%s\nwant\n%s", after, before)
			}
			st, _ := tr.Status("msg-1@client.example")
			r := st.Recipient(bob)
			got, err := os.ReadFile(r.Evidence.Path)
			if err != nil || !bytes.Equal(got, rs["del1"]) {
				t.Fatalf("evidence %s: %v (equal %v)", r.Evidence.Path, err, bytes.Equal(got, rs["del1"]))
			}
			for _, k := range []string{"acc1", "del1", "other"} {
				u, err := tr.Observe(classifyBytes(t, rs[k]))
				if err != nil || !u.Duplicate {
					t.Errorf("%s again after reopen: %+v, %v", k, u, err)
				}
			}
			if _, err := tr.Observe(classifyBytes(t, rs["w12"])); err != nil {
				t.Fatal(err)
			}
			if st, _ := tr.Status("msg-2@client.example"); st.Recipient(bob).State != StateDelayed {
				t.Fatalf("after reopen: %s", st.Recipient(bob).State)
			}
			// The orphan kept in the store is matched when its message is registered.
			if err := tr.Register(newSent(3, sampleTime.Add(2), []string{bob}, nil).sent); err != nil {
				t.Fatal(err)
			}
			if st, _ := tr.Status("msg-3@client.example"); st.Recipient(bob).State != StateAccepted {
				t.Fatalf("orphan: %s", st.Recipient(bob).State)
			}
		})
	}
}

// TestStoreCrash cuts the journal at every byte, as a crash during an append
// would leave it: the store always opens, with the records wholly written,
// reports the torn record, and appends cleanly after it.
func TestStoreCrash(t *testing.T) {
	dir := t.TempDir()
	tr, err := OpenTracker(dir, &TrackerOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	storeFixture(t, tr)
	tr.Close()
	journal := filepath.Join(dir, journalName)
	full, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	// The expected state at each record boundary.
	want := map[int]string{}
	lines := bytes.SplitAfter(full, []byte("\n"))
	cut := 0
	for i := 0; i <= len(lines); i++ {
		if err := os.WriteFile(journal, full[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		tr, err := OpenTracker(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		want[cut] = snapshot(t, tr)
		tr.Close()
		if i < len(lines) {
			cut += len(lines[i])
		}
	}
	prev := 0
	step := 1
	if testing.Short() {
		step = 11
	}
	for n := 0; n <= len(full); n++ {
		if _, ok := want[n]; ok {
			prev = n
		}
		if _, boundary := want[n]; !boundary && n%step != 0 {
			continue
		}
		if err := os.WriteFile(journal, full[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		tr, err := OpenTracker(dir, nil)
		if err != nil {
			t.Fatalf("cut at %d: %v", n, err)
		}
		_, boundary := want[n]
		if rep := tr.Repaired(); boundary != (rep == nil) || (rep != nil && !errors.Is(rep, ErrTornRecord)) {
			t.Fatalf("cut at %d: Repaired = %v", n, rep)
		}
		if got := snapshot(t, tr); got != want[prev] {
			t.Fatalf("cut at %d: state differs from the %d bytes of whole records", n, prev)
		}
		if n%97 == 0 || n == len(full)-1 {
			// The next append follows the last whole record.
			if err := tr.Register(Sent{MessageID: "after-crash@client.example", From: alice, To: []string{bob}, Time: sampleTime}); err != nil {
				t.Fatalf("cut at %d: %v", n, err)
			}
			tr.Close()
			tr, err = OpenTracker(dir, nil)
			if err != nil || tr.Repaired() != nil {
				t.Fatalf("cut at %d, after append: %v, %v", n, err, tr.Repaired())
			}
			if _, ok := tr.Status("after-crash@client.example"); !ok {
				t.Fatalf("cut at %d: the appended record is lost", n)
			}
		}
		tr.Close()
	}
}

// TestStoreCorrupt: damage before the last line is refused, never skipped.
func TestStoreCorrupt(t *testing.T) {
	dir := t.TempDir()
	tr, err := OpenTracker(dir, &TrackerOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	storeFixture(t, tr)
	tr.Close()
	journal := filepath.Join(dir, journalName)
	full, _ := os.ReadFile(journal)
	first := bytes.IndexByte(full, '\n')
	tests := []struct {
		name string
		data []byte
	}{
		{"flipped brace", append([]byte("["), full[1:]...)},
		{"unknown field", append([]byte(`{"v":1,"x":1}`+"\n"), full...)},
		{"future version", append([]byte(`{"v":2,"sent":{"MessageID":"a@b"}}`+"\n"), full...)},
		{"empty record", append([]byte(`{"v":1}`+"\n"), full...)},
		{"bad kind", append([]byte(`{"v":1,"receipt":{"kind":"nope","sha256":"ab"}}`+"\n"), full...)},
		{"two records on a line", append(append([]byte{}, full[:first]...), full...)},
		{"blank line", append([]byte("\n"), full...)},
		{"line too long", append([]byte(`{"v":1,"sent":{"Subject":"`+strings.Repeat("x", maxRecord)+`"}}`+"\n"), full...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(journal, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			tr, err := OpenTracker(dir, nil)
			if !errors.Is(err, ErrCorruptStore) || !strings.Contains(err.Error(), "line 1") {
				if tr != nil {
					tr.Close()
				}
				t.Fatalf("err = %v, want ErrCorruptStore at line 1", err)
			}
			if got, _ := os.ReadFile(journal); !bytes.Equal(got, tc.data) {
				t.Fatal("a refused store was modified")
			}
		})
	}
}

// TestStoreLock: one writer at a time; readers beside it.
func TestStoreLock(t *testing.T) {
	dir := t.TempDir()
	tr, err := OpenTracker(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	storeFixture(t, tr)
	if _, err := OpenTracker(dir, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("second writer: err = %v, want ErrLocked", err)
	}
	ro, err := OpenTracker(dir, &TrackerOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if snapshot(t, ro) != snapshot(t, tr) {
		t.Fatal("the reader sees another state")
	}
	if err := ro.Register(Sent{MessageID: "x@y", From: alice, To: []string{bob}}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Register on a reader: %v", err)
	}
	if _, err := OpenTracker(filepath.Join(dir, "missing"), &TrackerOptions{ReadOnly: true}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("reader of a missing store: %v", err)
	}
	tr.Close()
	tr2, err := OpenTracker(dir, nil)
	if err != nil {
		t.Fatalf("after Close the lock is released: %v", err)
	}
	tr2.Close()
}

// TestStoreRepairLogged: the repair of a torn record is logged, and the
// tracker is silent without a logger.
func TestStoreRepairLogged(t *testing.T) {
	dir := t.TempDir()
	tr, err := OpenTracker(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Register(Sent{MessageID: "a@client.example", From: alice, To: []string{bob}, Time: sampleTime}); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	f, err := os.OpenFile(filepath.Join(dir, journalName), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"v":1,"sent":{"msgid":"b@cl`)
	f.Close()
	var logged bytes.Buffer
	tr, err = OpenTracker(dir, &TrackerOptions{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if !errors.Is(tr.Repaired(), ErrTornRecord) || !strings.Contains(logged.String(), "tracker store repaired") || !strings.Contains(logged.String(), "line 2") {
		t.Fatalf("Repaired = %v, log %q", tr.Repaired(), logged.String())
	}
	if _, ok := tr.Status("a@client.example"); !ok {
		t.Fatal("the whole record before the torn one is lost")
	}
}

// TestStoreEvidenceRewritten: an evidence file left damaged, with no journal
// line naming it, is written again when its receipt is observed.
func TestStoreEvidenceRewritten(t *testing.T) {
	dir := t.TempDir()
	tr, err := OpenTracker(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	m := newSent(1, sampleTime, []string{bob}, nil)
	if err := tr.Register(m.sent); err != nil {
		t.Fatal(err)
	}
	msg := classifyBytes(t, m.build(t, pec.KindDeliverySummary, 1, bob))
	name := filepath.Join(dir, evidenceName, msg.Digest+".eml")
	if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, msg.raw[:100], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Observe(msg); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(name); err != nil || !bytes.Equal(b, msg.raw) {
		t.Fatalf("evidence not rewritten: %v", err)
	}
}

// failingFile writes part of a record and fails, as a full disk does, or
// fails its sync.
type failingFile struct {
	journalFile
	failWrite, failSync bool
}

func (f *failingFile) Write(b []byte) (int, error) {
	if f.failWrite {
		n, _ := f.journalFile.Write(b[:len(b)/2])
		return n, errors.New("no space left on device")
	}
	return f.journalFile.Write(b)
}

func (f *failingFile) Sync() error {
	if f.failSync {
		return errors.New("input/output error")
	}
	return f.journalFile.Sync()
}

// TestStoreFailedAppend: a failed write leaves the journal ending with a
// whole record, the call fails and nothing is applied; after a failed sync
// the store refuses further appends. The store opens cleanly afterwards.
func TestStoreFailedAppend(t *testing.T) {
	dir := t.TempDir()
	tr, err := OpenTracker(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ff := &failingFile{journalFile: tr.store.f}
	tr.store.f = ff
	m := newSent(1, sampleTime, []string{bob}, nil)
	if err := tr.Register(m.sent); err != nil {
		t.Fatal(err)
	}
	ff.failWrite = true
	msg := classifyBytes(t, m.build(t, pec.KindDeliverySummary, 1, bob))
	if _, err := tr.Observe(msg); err == nil || !strings.Contains(err.Error(), "no space") {
		t.Fatalf("err = %v", err)
	}
	if st, _ := tr.Status(m.sent.MessageID); st.Recipient(bob).State != StateSubmitted {
		t.Fatal("a receipt not written was applied")
	}
	ff.failWrite = false
	if _, err := tr.Observe(msg); err != nil {
		t.Fatalf("after the disk has room again: %v", err)
	}
	ff.failSync = true
	if err := tr.Register(newSent(2, sampleTime, []string{bob}, nil).sent); err == nil {
		t.Fatal("a failed sync is not reported")
	}
	ff.failSync = false
	if err := tr.Register(newSent(3, sampleTime, []string{bob}, nil).sent); err == nil || !strings.Contains(err.Error(), "unusable") {
		t.Fatalf("append after a failed sync: %v", err)
	}
	tr.Close()
	tr, err = OpenTracker(dir, nil)
	if err != nil || tr.Repaired() != nil {
		t.Fatalf("reopen: %v, %v", err, tr.Repaired())
	}
	defer tr.Close()
	if st, _ := tr.Status(m.sent.MessageID); st.Recipient(bob).State != StateDelivered {
		t.Fatalf("after reopen: %s", st.Recipient(bob).State)
	}
}
