package trace_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/tracetest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// chained returns NewRecords(0, n) chained as a store would.
func chained(n int) []*trace.Record {
	recs := tracetest.NewRecords(0, n)
	var prev trace.Hash
	for i, r := range recs {
		r.Chain(uint64(i+1), prev)
		prev = r.Hash
	}
	return recs
}

// edgeRecords are records at the edges of the encoding.
func edgeRecords() []*trace.Record {
	minimal := &trace.Record{Time: time.Unix(0, 1).UTC(), Event: trace.EventReceived, ClientMsgID: "x"}
	far := &trace.Record{
		Time: time.Date(2261, 1, 1, 0, 0, 0, 999, time.FixedZone("", -(9*3600+30*60))), Event: trace.EventForwarded,
		MsgID: strings.Repeat("é", 300) + "@x", Recipients: []pec.Recipient{{}, {Address: "a@b"}},
		Generated: []string{"", "g@h"}, Kind: pec.KindDeliveryTimeout24h, Message: []byte{0, '\n', 0xff},
	}
	past := &trace.Record{Time: time.Date(1700, 6, 1, 0, 0, 0, 0, time.UTC), Event: trace.EventAnomaly, MsgID: "m", Seq: 1<<64 - 1}
	return []*trace.Record{minimal, far, past}
}

func TestRoundTrip(t *testing.T) {
	recs := append(chained(40), edgeRecords()...)
	for _, r := range recs {
		t.Run(fmt.Sprint(r.Seq), func(t *testing.T) {
			b, err := r.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var got trace.Record
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatalf("UnmarshalBinary: %v", err)
			}
			again, _ := got.MarshalBinary()
			if !bytes.Equal(again, b) {
				t.Fatal("encode → decode → encode changed the bytes")
			}
			if !got.Time.Equal(r.Time) || got.Time.Format(time.RFC3339Nano) != r.Time.Format(time.RFC3339Nano) {
				t.Fatalf("Time %v, want %v", got.Time, r.Time)
			}
			if got.Hash != r.Hash || got.ComputeHash() != r.ComputeHash() {
				t.Fatal("the hash changed across the round trip")
			}
			if r.Seq > 0 && r.Seq < 100 && !got.Check() {
				t.Fatal("a chained record does not check after the round trip")
			}
		})
	}
}

// TestHashCovers checks that changing any field but Hash and the inline
// Message changes the hash, and that the Message is covered through
// MessageHash.
func TestHashCovers(t *testing.T) {
	base := chained(4)[3]
	edits := map[string]func(r *trace.Record){
		"Seq":           func(r *trace.Record) { r.Seq++ },
		"Time":          func(r *trace.Record) { r.Time = r.Time.Add(time.Nanosecond) },
		"Zone":          func(r *trace.Record) { r.Time = r.Time.In(time.FixedZone("X", 3*3600)) },
		"Point":         func(r *trace.Record) { r.Point = trace.PointIncoming },
		"Event":         func(r *trace.Record) { r.Event = trace.EventAnomaly },
		"Kind":          func(r *trace.Record) { r.Kind = pec.KindAnomaly },
		"MsgID":         func(r *trace.Record) { r.MsgID += "x" },
		"ClientMsgID":   func(r *trace.Record) { r.ClientMsgID += "x" },
		"Sender":        func(r *trace.Record) { r.Sender += "x" },
		"Recipient":     func(r *trace.Record) { r.Recipients[0].Address += "x" },
		"RecipientType": func(r *trace.Record) { r.Recipients[0].Type = pec.RecipientExternal },
		"Recipients":    func(r *trace.Record) { r.Recipients = append(r.Recipients, pec.Recipient{}) },
		"Subject":       func(r *trace.Record) { r.Subject += "x" },
		"Provider":      func(r *trace.Record) { r.Provider += "x" },
		"Generated":     func(r *trace.Record) { r.Generated[0] += "x" },
		"ReceiptType":   func(r *trace.Record) { r.ReceiptType = pec.ReceiptShort },
		"Delivery":      func(r *trace.Record) { r.Delivery += "x" },
		"Reception":     func(r *trace.Record) { r.Reception += "x" },
		"Error":         func(r *trace.Record) { r.Error = pec.ErrorOther },
		"ErrorExtended": func(r *trace.Record) { r.ErrorExtended += "x" },
		"Virus":         func(r *trace.Record) { r.Virus += "x" },
		"QueueID":       func(r *trace.Record) { r.QueueID += "x" },
		"MessageRef":    func(r *trace.Record) { r.MessageRef += "x" },
		"MessageHash":   func(r *trace.Record) { r.MessageHash[0] ^= 1 },
		"Prev":          func(r *trace.Record) { r.Prev[0] ^= 1 },
		// A field boundary moved: the same bytes, split differently.
		"Boundary": func(r *trace.Record) { r.Sender, r.Subject = r.Sender+r.Subject[:1], r.Subject[1:] },
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			r := base.Clone()
			edit(r)
			if r.ComputeHash() == base.Hash {
				t.Fatalf("changing %s leaves the hash as it was", name)
			}
			if r.Check() {
				t.Fatalf("a record with %s changed still checks", name)
			}
		})
	}
	r := base.Clone()
	r.Message[0] ^= 1
	if r.ComputeHash() != base.Hash || r.Check() {
		t.Fatal("the inline Message is not covered through MessageHash")
	}
}

// TestGolden pins the encoding and the hash of fixed records: stores keep
// these bytes for years, and a change here breaks every log on disk.
func TestGolden(t *testing.T) {
	var b strings.Builder
	for _, r := range append(chained(3), edgeRecords()...) {
		enc, _ := r.MarshalBinary()
		fmt.Fprintf(&b, "record %d hash %x\n%s\n", r.Seq, r.ComputeHash(), hex.Dump(enc))
	}
	s := &trace.Seal{Seq: 3, Head: chained(3)[2].Hash, Time: tracetest.Epoch}
	c := &trace.Checkpoint{Seq: 2, Head: chained(2)[1].Hash, Before: tracetest.Epoch, Time: tracetest.Epoch.AddDate(2, 6, 0)}
	fmt.Fprintf(&b, "seal\n%s\ncheckpoint\n%s\n", s.SignedBytes(), c.SignedBytes())
	golden(t, "encoding.golden", b.String())
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (run with -update after review):\n%s", name, firstDiff(got, string(want)))
	}
}

func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(la) || i < len(lb); i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n got %q\nwant %q", i+1, x, y)
		}
	}
	return ""
}

func TestUnmarshalRefuses(t *testing.T) {
	good, _ := chained(8)[7].MarshalBinary()
	// Every truncation is an error at or before the cut, never a panic.
	for n := 0; n < len(good); n++ {
		var r trace.Record
		err := r.UnmarshalBinary(good[:n])
		var de *trace.DecodeError
		if !errors.Is(err, trace.ErrCorrupt) || !errors.As(err, &de) || de.Offset > n {
			t.Fatalf("truncated to %d bytes: %v", n, err)
		}
	}
	zoneAt := len("PTR\x01") + 1 + 9 // magic, Seq 8, nanoseconds (9 bytes of varint)
	tests := []struct {
		name   string
		data   []byte
		reason string
	}{
		{"Empty", nil, "bad magic"},
		{"Magic", append([]byte("PTX\x01"), good[4:]...), "bad magic"},
		{"Version", append([]byte("PTR\x02"), good[4:]...), "bad magic"},
		{"Trailing", append(bytes.Clone(good), 0), "1 trailing bytes"},
		{"Zone", splice(good, zoneAt, []byte{0xff, 0xff, 0xff, 0x01}), "zone offset"},
		{"HugeString", append([]byte("PTR\x01\x01\x02\x02\x00"), 0xff, 0xff, 0xff, 0xff, 0x0f), "longer than the input"},
		{"HugeList", append([]byte("PTR\x01\x01\x02\x02\x00\x00\x00\x00\x00\x00\x00"), 0xff, 0xff, 0xff, 0xff, 0x0f), "longer than the input"},
		{"BadVarint", append([]byte("PTR\x01"), bytes.Repeat([]byte{0xff}, 11)...), "varint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r trace.Record
			err := r.UnmarshalBinary(tc.data)
			if !errors.Is(err, trace.ErrCorrupt) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("UnmarshalBinary: %v, want ErrCorrupt saying %q", err, tc.reason)
			}
		})
	}
}

// splice replaces the zone offset varint at off (2 bytes for +3600 or
// +7200) with repl.
func splice(b []byte, off int, repl []byte) []byte {
	out := append([]byte(nil), b[:off]...)
	out = append(out, repl...)
	return append(out, b[off+2:]...)
}

// TestUnmarshalCanonical: a record has one encoding. A varint written
// overlong (0x81 0x00 for 1) decodes to the same values, so a decoder that
// took it would let one record be stored in several byte forms; every
// input UnmarshalBinary accepts encodes back to itself.
func TestUnmarshalCanonical(t *testing.T) {
	good, _ := chained(8)[7].MarshalBinary()
	overlongSeq := append(append([]byte("PTR\x01"), 0x88, 0x00), good[5:]...) // Seq 8 in two bytes
	var r trace.Record
	if err := r.UnmarshalBinary(overlongSeq); !errors.Is(err, trace.ErrCorrupt) || !strings.Contains(err.Error(), "overlong") {
		t.Fatalf("UnmarshalBinary of an overlong Seq: %v, want ErrCorrupt saying overlong", err)
	}
	for _, rec := range append(chained(6), edgeRecords()...) {
		b, _ := rec.MarshalBinary()
		refused := 0
		for i := range b {
			// Rewrite the byte at i as the first of two: an overlong form
			// when it ends a varint, other garbage when not.
			alt := append(append(append([]byte(nil), b[:i]...), b[i]|0x80, 0x00), b[i+1:]...)
			var got trace.Record
			if err := got.UnmarshalBinary(alt); err != nil {
				refused++
				continue
			}
			if enc, _ := got.MarshalBinary(); !bytes.Equal(enc, alt) {
				t.Fatalf("record %d: the input with byte %d made overlong decodes, but encodes to other bytes", rec.Seq, i)
			}
		}
		if refused == 0 {
			t.Fatalf("record %d: no rewriting was refused", rec.Seq)
		}
	}
}

// TestEncodeChain: an Encoding chained gives the bytes and the hash that
// Chain and MarshalBinary give, for every sample record and for Seqs whose
// uvarint takes from one to ten bytes, chained again in place too.
func TestEncodeChain(t *testing.T) {
	seqs := []uint64{1, 127, 128, 16383, 16384, 1 << 35, 1<<63 + 5, ^uint64(0)}
	for i, r := range append(chained(12), edgeRecords()...) {
		for j, seq := range seqs {
			var prev trace.Hash
			prev[0], prev[31] = byte(i), byte(j)
			want := *r
			want.Chain(seq, prev)
			wantBytes, _ := want.MarshalBinary()

			c := *r
			c.Seq, c.Prev, c.Hash = 0, trace.Hash{}, trace.Hash{}
			e := c.Encode(13)
			if e.Bytes() != nil {
				t.Fatal("Bytes before Chain is not nil")
			}
			e.Chain(seqs[(j+1)%len(seqs)], trace.Hash{9}) // somewhere else first
			e.Chain(seq, prev)
			got := e.Bytes()
			if len(got) < 13 || !bytes.Equal(got[13:], wantBytes) {
				t.Fatalf("record %d, seq %d: Encoding bytes differ from MarshalBinary", i, seq)
			}
			if c.Seq != seq || c.Prev != prev || c.Hash != want.Hash || !c.Check() {
				t.Fatalf("record %d, seq %d: Chain left Seq %d, hash %x; want %x", i, seq, c.Seq, c.Hash[:4], want.Hash[:4])
			}
			if e.Record() != &c {
				t.Fatal("Record is not the record encoded")
			}
		}
	}
}

// TestEncodeTo: one Encoding reused for record after record, larger and
// smaller than the one before, gives the bytes MarshalBinary gives.
func TestEncodeTo(t *testing.T) {
	recs := append(chained(12), edgeRecords()...)
	var e *trace.Encoding
	for round := range 3 {
		for i := range recs {
			r := recs[(i*7+round)%len(recs)]
			want := *r
			want.Chain(uint64(i+1), trace.Hash{byte(i)})
			wantBytes, _ := want.MarshalBinary()
			c := *r
			c.Seq, c.Prev, c.Hash = 0, trace.Hash{}, trace.Hash{}
			e = c.EncodeTo(e, 13)
			if e.Bytes() != nil {
				t.Fatal("Bytes before Chain is not nil")
			}
			e.Chain(uint64(i+1), trace.Hash{byte(i)})
			if got := e.Bytes(); len(got) < 13 || !bytes.Equal(got[13:], wantBytes) {
				t.Fatalf("round %d, record %d: reused Encoding bytes differ from MarshalBinary", round, i)
			}
			if e.Record() != &c || c.Hash != want.Hash {
				t.Fatalf("round %d, record %d: wrong record or hash", round, i)
			}
		}
	}
}
