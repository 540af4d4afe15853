package spool

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// seedFrames returns a frame of each kind, as a Dir writes them.
func seedFrames(t testing.TB) [][]byte {
	it := Item{ID: "q1", Role: RoleAccess, From: "a@pec.example.it", To: []string{"b@pec.example.org", "c@example.com"},
		User: "a", Peer: "192.0.2.1:25", Helo: "mx", Received: time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC),
		Meta: map[string]string{"pec-id": "x@y"}}
	ih, err := itemHeader(&it)
	if err != nil {
		t.Fatal(err)
	}
	sh, _ := json.Marshal(diskStep{ID: "q1", Step: "acceptance", Time: it.Received})
	rh, _ := json.Marshal(diskRetry{ID: "q1", Step: "relay", Attempts: 2, Next: it.Received, Cause: "451"})
	var out [][]byte
	for _, f := range []struct {
		kind byte
		hdr  []byte
		body string
	}{{kindItem, ih, "Subject: x\r\n\r\nbody\r\n"}, {kindStep, sh, "receipt"}, {kindRetry, rh, ""}, {kindItem, ih, ""},
		{kindLogged, ih, "Subject: x\r\n\r\nbody\r\n"}, {kindLogged, ih, ""}} {
		var b fileBuf
		if _, err := writeFrame(&b, f.kind, f.hdr, strings.NewReader(f.body)); err != nil {
			t.Fatal(err)
		}
		out = append(out, b.b)
	}
	// An item followed by its log.
	out = append(out, append(slices.Clone(out[4]), seedLog()...))
	return out
}

// fileBuf is a file in memory, for writeFrame.
type fileBuf struct{ b []byte }

func (f *fileBuf) Write(p []byte) (int, error) { f.b = append(f.b, p...); return len(p), nil }

func (f *fileBuf) WriteAt(p []byte, off int64) (int, error) { return copy(f.b[off:], p), nil }

// FuzzFrame parses any bytes as a spool file: a frame that parses, with
// a header that decodes, is written again the same, and parses again to
// the same frame and header.
func FuzzFrame(f *testing.F) {
	for _, b := range seedFrames(f) {
		f.Add(b)
		f.Add(b[:len(b)-1])
		f.Add(b[:prefixLen+3])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := parseFrame(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		body := data[fr.bodyOff : fr.bodyOff+fr.bodyLen]
		var again fileBuf
		if _, err := writeFrame(&again, fr.kind, fr.header, bytes.NewReader(body)); err != nil {
			t.Fatal(err)
		}
		if newCRC32(body) == fr.bodyCRC && !bytes.Equal(again.b, data[:fr.end]) {
			t.Fatalf("a frame written again differs:\n%q\n%q", data[:fr.end], again.b)
		}
		if fr.kind == kindLogged {
			// The log after it: whatever the bytes, no panic.
			scanLog(bytes.NewReader(data), fr.end, int64(len(data)))
		}
		fr2, err := parseFrame(bytes.NewReader(again.b), int64(len(again.b)))
		if err != nil || fr2.kind != fr.kind || !bytes.Equal(fr2.header, fr.header) || fr2.bodyLen != fr.bodyLen {
			t.Fatalf("a frame written again parses as %+v, %v; want %+v", fr2, err, fr)
		}
		switch fr.kind {
		case kindItem, kindLogged:
			it, err := parseItemHeader(fr.header)
			if err != nil {
				return
			}
			h, err := itemHeader(it)
			if err != nil {
				t.Fatalf("an item parsed does not encode: %v", err)
			}
			it2, err := parseItemHeader(h)
			if err != nil || !sameItem(it, it2) {
				t.Fatalf("an item encoded again parses as %+v, %v; want %+v", it2, err, it)
			}
		case kindStep:
			s, err := parseStepHeader(fr.header)
			if err != nil {
				return
			}
			h, _ := json.Marshal(s)
			s2, err := parseStepHeader(h)
			if err != nil || s2.ID != s.ID || s2.Step != s.Step || !s2.Time.Equal(s.Time) {
				t.Fatalf("a step header encoded again parses as %+v, %v; want %+v", s2, err, s)
			}
		case kindRetry:
			r, err := parseRetryHeader(fr.header)
			if err != nil {
				return
			}
			h, _ := json.Marshal(r)
			r2, err := parseRetryHeader(h)
			if err != nil || r2.ID != r.ID || r2.Step != r.Step || r2.Attempts != r.Attempts || r2.Cause != r.Cause || !r2.Next.Equal(r.Next) {
				t.Fatalf("a retry header encoded again parses as %+v, %v; want %+v", r2, err, r)
			}
		}
	})
}

func newCRC32(b []byte) uint32 {
	h := newCRC()
	h.Write(b)
	return h.Sum32()
}

func sameItem(a, b *Item) bool {
	return a.ID == b.ID && a.Role == b.Role && a.From == b.From && slices.Equal(a.To, b.To) && a.User == b.User &&
		a.Peer == b.Peer && a.Helo == b.Helo && a.Received.Equal(b.Received) && maps.Equal(a.Meta, b.Meta)
}

func TestSeedFramesParse(t *testing.T) {
	for i, b := range seedFrames(t) {
		fr, err := parseFrame(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		var ok bool
		switch fr.kind {
		case kindItem, kindLogged:
			_, err = parseItemHeader(fr.header)
			ok = err == nil
		case kindStep:
			_, err = parseStepHeader(fr.header)
			ok = err == nil
		case kindRetry:
			_, err = parseRetryHeader(fr.header)
			ok = err == nil
		}
		if !ok {
			t.Fatalf("seed %d: header: %v", i, err)
		}
	}
}

// FuzzHeader decodes any bytes as the JSON header of each kind of file
// (the frame's checksums, which FuzzFrame rarely gets past, left out): a
// header that decodes is encoded again and decodes to the same value.
func FuzzHeader(f *testing.F) {
	for _, b := range seedFrames(f) {
		fr, err := parseFrame(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fr.header)
	}
	f.Add([]byte(`{"id":"a","received":"2026-01-01T00:00:00Z","meta":{"":""},"to":[]}`))
	f.Add([]byte(`{"id":"a","step":"\u0000","attempts":1,"next":"0001-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, hdr []byte) {
		if it, err := parseItemHeader(hdr); err == nil {
			if validItem(it) != nil || it.Received.IsZero() {
				t.Fatalf("an item header decodes to an invalid item %+v", it)
			}
			h, err := itemHeader(it)
			if err != nil {
				t.Fatal(err)
			}
			it2, err := parseItemHeader(h)
			if err != nil || !sameItem(it, it2) {
				t.Fatalf("an item encoded again parses as %+v, %v; want %+v", it2, err, it)
			}
		}
		if s, err := parseStepHeader(hdr); err == nil {
			h, _ := json.Marshal(s)
			s2, err := parseStepHeader(h)
			if err != nil || s2.ID != s.ID || s2.Step != s.Step || !s2.Time.Equal(s.Time) {
				t.Fatalf("a step header encoded again parses as %+v, %v; want %+v", s2, err, s)
			}
		}
		if r, err := parseRetryHeader(hdr); err == nil {
			h, _ := json.Marshal(r)
			r2, err := parseRetryHeader(h)
			if err != nil || r2.ID != r.ID || r2.Step != r.Step || r2.Attempts != r.Attempts || r2.Cause != r.Cause || !r2.Next.Equal(r.Next) {
				t.Fatalf("a retry header encoded again parses as %+v, %v; want %+v", r2, err, r)
			}
		}
	})
}

// seedLog returns a log as a Dir writes it: two steps and a retry.
func seedLog() []byte {
	at := time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)
	sh, _ := json.Marshal(diskStep{ID: "q1", Step: "acceptance", Time: at})
	rh, _ := json.Marshal(diskRetry{ID: "q1", Step: "relay", Attempts: 2, Next: at, Cause: "451"})
	th, _ := json.Marshal(diskStep{ID: "q1", Step: "trace", Time: at})
	b := appendRecord(nil, kindStep, sh, []byte("a signed receipt\r\n"))
	b = appendRecord(b, kindRetry, rh, nil)
	return appendRecord(b, kindStep, th, nil)
}

// FuzzLog parses any bytes as an item's log: the whole records found,
// appended again, give the bytes up to where the scan stopped; damage is
// a *CorruptError; nothing panics.
func FuzzLog(f *testing.F) {
	b := seedLog()
	f.Add(b)
	f.Add(b[:len(b)-1])
	f.Add(b[:logPrefixLen+3])
	f.Add(append(append([]byte(nil), b[:10]...), b...))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, end, ce := scanLog(bytes.NewReader(data), 0, int64(len(data)))
		if end < 0 || end > int64(len(data)) {
			t.Fatalf("scan stopped at %d of %d bytes", end, len(data))
		}
		if ce != nil && ce.Offset < 0 {
			t.Fatalf("damage without an offset: %v", ce)
		}
		var again []byte
		for _, r := range recs {
			body := data[r.bodyOff : r.bodyOff+r.bodyLen]
			again = appendRecord(again, r.kind, r.header, body)
		}
		if !bytes.Equal(again, data[:end]) && ce == nil {
			// Bodies of records before the last are not checked by the
			// scan: rewritten, their checksum may differ.
			for _, r := range recs {
				if newCRC32(data[r.bodyOff:r.bodyOff+r.bodyLen]) != r.bodyCRC {
					return
				}
			}
			t.Fatalf("records written again differ:\n%q\n%q", data[:end], again)
		}
	})
}

// TestLogTornTail cuts a log at every length, as a crash during an
// append may: the scan never reports damage, and keeps the whole records
// before the cut.
func TestLogTornTail(t *testing.T) {
	b := seedLog()
	full, _, ce := scanLog(bytes.NewReader(b), 0, int64(len(b)))
	if ce != nil || len(full) != 3 {
		t.Fatalf("the whole log: %d records, %v", len(full), ce)
	}
	for n := range len(b) + 1 {
		recs, end, ce := scanLog(bytes.NewReader(b[:n]), 0, int64(n))
		if ce != nil {
			t.Fatalf("cut at %d: %v", n, ce)
		}
		want := 0
		for _, r := range full {
			if r.end <= int64(n) {
				want++
			}
		}
		if len(recs) != want || (want > 0 && end != full[want-1].end) || (want == 0 && end != 0) {
			t.Fatalf("cut at %d: %d records ending at %d, want %d", n, len(recs), end, want)
		}
	}
	// A cut body of the last record, its length kept (zeros where the
	// data did not reach the disk): torn too.
	z := slices.Clone(b)
	last := full[2]
	for i := last.bodyOff - 4; i < last.end; i++ {
		z[i] = 0
	}
	if recs, end, ce := scanLog(bytes.NewReader(z), 0, int64(len(z))); ce != nil || len(recs) != 2 || end != full[1].end {
		t.Fatalf("zeroed tail: %d records ending at %d, %v", len(recs), end, ce)
	}
}
