package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/internal/testenv"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/sample"
	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/filestore"
	"github.com/pecsdk/pec/trace/pgstore"
	"github.com/pecsdk/pec/trace/pgstore/pgtest"
)

// traceFixture is a trace log of one message of every kind of the sample
// set, sealed by the sender's provider, with the files to trust it.
type traceFixture struct {
	set  *sample.Set
	recs map[pec.Kind]*trace.Record
	ca   string // PEM of the test CA
	cert string // PEM of the sealing provider's certificate
}

func newTraceFixture(t *testing.T) *traceFixture {
	t.Helper()
	set, err := sample.New(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := &traceFixture{set: set, recs: map[pec.Kind]*trace.Record{}, ca: filepath.Join(dir, "ca.pem"), cert: filepath.Join(dir, "provider.pem")}
	os.WriteFile(f.ca, set.PKI.CAPEM(), 0o644)
	os.WriteFile(f.cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: set.Sender.Certificate().Raw}), 0o644)
	for _, k := range pec.Kinds {
		r, err := trace.FromMessage(k, set.Data[k], set.Messages[k])
		if err != nil {
			t.Fatal(err)
		}
		f.recs[k] = r
	}
	return f
}

// fill appends the records to st, one call each, and seals the head.
func (f *traceFixture) fill(t *testing.T, st trace.Store) {
	t.Helper()
	ctx := context.Background()
	for _, k := range pec.Kinds {
		if err := st.Append(ctx, f.recs[k]); err != nil {
			t.Fatal(err)
		}
	}
	seq, head, err := st.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seal, err := trace.NewSeal(seq, head, time.Now(), f.set.Sender)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddSeal(ctx, seal); err != nil {
		t.Fatal(err)
	}
}

// fileStore writes the fixture into a new embedded store and returns its
// directory.
func (f *traceFixture) fileStore(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "trace")
	st, err := filestore.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.fill(t, st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestTraceVerify: an intact log verifies (exit 0), also against the CA and
// the provider certificate; a byte changed in a segment, or the last record
// cut away, fails (exit 1) naming the record; a seal by another provider
// fails --cert.
func TestTraceVerify(t *testing.T) {
	f := newTraceFixture(t)
	dir := f.fileStore(t)
	n := len(pec.Kinds)
	for _, args := range [][]string{
		{"trace", "verify", "--dir", dir},
		{"trace", "verify", "--dir", dir, "--ca", f.ca, "--cert", f.cert},
	} {
		st, out, errs := runTool(args...)
		if st != 0 || !strings.HasPrefix(out, "OK 14 records (1 to 14)") || !strings.Contains(out, "1 seals, sealed to record 14") {
			t.Fatalf("%v: status %d\n%s%s", args, st, out, errs)
		}
	}
	other := filepath.Join(t.TempDir(), "other.pem")
	os.WriteFile(other, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.set.Recipient.Certificate().Raw}), 0o644)
	if st, out, _ := runTool("trace", "verify", "--dir", dir, "--cert", other); st != 1 || !strings.Contains(out, "FAIL record 14: seal") {
		t.Fatalf("verify with another provider's certificate: status %d: %s", st, out)
	}
	// A renewal: the seal's certificate among several given.
	if st, out, errs := runTool("trace", "verify", "--dir", dir, "--cert", other, "--cert", f.cert, "--require-sealed"); st != 0 {
		t.Fatalf("verify with two certificates, one of them the sealer's: status %d: %s%s", st, out, errs)
	}

	// Records appended after the last seal: OK by the chain, a failure
	// when the log must be sealed, unless tolerated.
	{
		st, err := filestore.Open(context.Background(), dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		extra := trace.FromData(trace.EventReceived, trace.PointIncoming, f.set.Data[pec.KindTransport])
		if err := st.Append(context.Background(), extra); err != nil {
			t.Fatal(err)
		}
		st.Close()
	}
	if st, out, _ := runTool("trace", "verify", "--dir", dir, "--cert", f.cert); st != 0 {
		t.Fatalf("verify of a log with an unsealed record: status %d: %s", st, out)
	}
	if st, out, _ := runTool("trace", "verify", "--dir", dir, "--cert", f.cert, "--require-sealed"); st != 1 || !strings.Contains(out, "FAIL record 15") {
		t.Fatalf("verify --require-sealed of a log with an unsealed record: status %d: %s", st, out)
	}
	if st, out, _ := runTool("trace", "verify", "--dir", dir, "--cert", f.cert, "--require-sealed", "--max-unsealed", "1"); st != 0 {
		t.Fatalf("verify --require-sealed --max-unsealed 1: status %d: %s", st, out)
	}
	dir = f.fileStore(t) // a fresh log for the tampering below

	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.log"))
	if len(segs) != 1 {
		t.Fatalf("%d segments", len(segs))
	}
	orig, _ := os.ReadFile(segs[0])

	// A byte of the subject of the seventh record.
	b := bytes.Clone(orig)
	subj := []byte(f.recs[pec.Kinds[6]].Subject)
	i := bytes.Index(b[bytes.Index(b, []byte(f.recs[pec.Kinds[6]].Generated[0])):], subj)
	if i < 0 {
		t.Fatal("subject not found")
	}
	b[bytes.Index(b, []byte(f.recs[pec.Kinds[6]].Generated[0]))+i] ^= 0x20
	os.WriteFile(segs[0], b, 0o644)
	if st, out, _ := runTool("trace", "verify", "--dir", dir); st != 1 || !strings.HasPrefix(out, "FAIL ") || !strings.Contains(out, "(record 7)") {
		t.Fatalf("verify of a changed byte: status %d: %s", st, out)
	}

	// The last record cut away at its frame: the seal points past the end.
	enc, _ := f.recs[pec.Kinds[n-1]].MarshalBinary()
	os.WriteFile(segs[0], orig[:len(orig)-len(enc)-13], 0o644) // the record and its 13-byte frame header
	if st, out, _ := runTool("trace", "verify", "--dir", dir); st != 1 || !strings.Contains(out, "FAIL record 14: truncated") {
		t.Fatalf("verify of a log without its last record: status %d: %s", st, out)
	}

	if st, _, errs := runTool("trace", "verify", "--dir", t.TempDir()); st != 2 || !strings.Contains(errs, "not a trace store") {
		t.Fatalf("verify of an empty directory: status %d: %s", st, errs)
	}
	if st, _, errs := runTool("trace", "verify"); st != 2 || !strings.Contains(errs, "--dir") {
		t.Fatalf("verify without a store: status %d: %s", st, errs)
	}
}

// TestTraceQuery: each selector of pec trace query, in text and JSON.
func TestTraceQuery(t *testing.T) {
	f := newTraceFixture(t)
	dir := f.fileStore(t)
	acc := f.recs[pec.KindAcceptance]
	st, out, errs := runTool("trace", "query", "--dir", dir, "--msgid", "<"+acc.MsgID+">")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if st != 0 || len(lines) != len(pec.Kinds)-1 { // all but the anomaly envelope, which carries another message
		t.Fatalf("query --msgid: status %d, %d lines\n%s%s", st, len(lines), out, errs)
	}
	first := f.recs[pec.Kinds[0]]
	if !strings.HasPrefix(lines[0], "1 ") || !strings.Contains(lines[0], first.Line()) {
		t.Fatalf("query --msgid: first line %q, want record 1 in the log line format %q", lines[0], first.Line())
	}

	st, out, errs = runTool("trace", "query", "--dir", dir, "--json", "--address", strings.ToUpper(acc.Sender), "--limit", "3")
	if st != 0 {
		t.Fatalf("query --json: %d %s", st, errs)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var got []jsonRecord
	for dec.More() {
		var v jsonRecord
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if len(got) != 3 || got[0].Seq != 1 || got[0].Hash == "" || got[0].MessageBytes != len(first.Message) || got[0].Event != first.Event {
		t.Fatalf("query --json --address --limit 3: %+v", got)
	}

	t0 := acc.Time.Add(time.Hour)
	day, _ := time.ParseInLocation("2006-01-02", acc.Time.In(pec.Location).Format("2006-01-02"), pec.Location)
	count := func(q trace.Query) int {
		n := 0
		for _, r := range f.recs {
			if q.Match(r) {
				n++
			}
		}
		return n
	}
	for _, tc := range []struct {
		args []string
		q    trace.Query
	}{
		{[]string{"--since", t0.Format(time.RFC3339)}, trace.Query{Since: t0}},
		{[]string{"--until", t0.Format(time.RFC3339)}, trace.Query{Until: t0}},
		{[]string{"--since", day.Format("2006-01-02")}, trace.Query{Since: day}},
		{[]string{"--since", day.Format("2006-01-02"), "--until", t0.Format(time.RFC3339Nano)}, trace.Query{Since: day, Until: t0}},
		{[]string{"--client-msgid", acc.ClientMsgID}, trace.Query{ClientMsgID: acc.ClientMsgID}},
		{[]string{"--address", "nobody@example.com"}, trace.Query{Address: "nobody@example.com"}},
	} {
		want := count(tc.q)
		st, out, errs := runTool(append([]string{"trace", "query", "--dir", dir}, tc.args...)...)
		n := 0
		if s := strings.TrimSpace(out); s != "" {
			n = len(strings.Split(s, "\n"))
		}
		if st != 0 || n != want {
			t.Errorf("query %v: status %d, %d records, want %d\n%s", tc.args, st, n, want, errs)
		}
	}
	if count(trace.Query{Since: t0}) == 0 || count(trace.Query{Until: t0}) == 0 {
		t.Fatal("the time queries do not split the fixture")
	}
	if st, _, errs := runTool("trace", "query", "--dir", dir, "--since", "yesterday"); st != 2 || !strings.Contains(errs, "--since") {
		t.Fatalf("query --since yesterday: status %d: %s", st, errs)
	}
}

// TestTraceReissue: every message re-issued from the log is byte for byte
// the one sent, and openssl still verifies it against the CA.
func TestTraceReissue(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	f := newTraceFixture(t)
	dir := f.fileStore(t)
	for _, k := range pec.Kinds {
		r := f.recs[k]
		file := filepath.Join(t.TempDir(), "reissued.eml")
		st, _, errs := runTool("trace", "reissue", "--dir", dir, "<"+r.Generated[0]+">", "-o", file)
		if st != 0 {
			t.Fatalf("%s: reissue: %d %s", k, st, errs)
		}
		got, _ := os.ReadFile(file)
		if !bytes.Equal(got, f.set.Messages[k]) {
			t.Fatalf("%s: the re-issued message is not byte-identical to the one sent", k)
		}
		if b, err := exec.Command(openssl, "smime", "-verify", "-CAfile", f.ca, "-in", file, "-out", os.DevNull).CombinedOutput(); err != nil {
			t.Fatalf("%s: openssl smime -verify of the re-issued message: %v\n%s", k, err, b)
		}
	}
	st, out, _ := runTool("trace", "reissue", "--dir", dir, f.recs[pec.KindDelivery].Generated[0])
	if st != 0 || out != string(f.set.Messages[pec.KindDelivery]) {
		t.Fatalf("reissue to standard output: status %d", st)
	}
	if st, _, errs := runTool("trace", "reissue", "--dir", dir, "nobody@pec.example.it"); st != 1 || !strings.Contains(errs, "not found") {
		t.Fatalf("reissue of an unknown Message-ID: status %d: %s", st, errs)
	}
}

// TestTracePostgres: the same commands against the PostgreSQL store.
func TestTracePostgres(t *testing.T) {
	url := pgtest.DB(t)
	f := newTraceFixture(t)
	st, err := pgstore.Open(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.fill(t, st)
	st.Close()
	if code, out, errs := runTool("trace", "verify", "--postgres", url, "--ca", f.ca, "--cert", f.cert); code != 0 || !strings.HasPrefix(out, "OK 14 records") {
		t.Fatalf("verify --postgres: %d\n%s%s", code, out, errs)
	}
	acc := f.recs[pec.KindAcceptance]
	if code, out, errs := runTool("trace", "query", "--postgres", url, "--msgid", acc.MsgID); code != 0 || len(strings.Split(strings.TrimSpace(out), "\n")) != len(pec.Kinds)-1 {
		t.Fatalf("query --postgres: %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runTool("trace", "reissue", "--postgres", url, acc.Generated[0]); code != 0 || out != string(f.set.Messages[pec.KindAcceptance]) {
		t.Fatalf("reissue --postgres: %d %s", code, errs)
	}
	if code, _, errs := runTool("trace", "verify", "--postgres", url, "--dir", "x"); code != 2 || !strings.Contains(errs, "not both") {
		t.Fatalf("verify with two stores: %d %s", code, errs)
	}
}
