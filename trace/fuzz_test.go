package trace_test

import (
	"bytes"
	"testing"

	"github.com/pecsdk/pec/trace"
)

// FuzzUnmarshalBinary: decoding never panics, and what decodes encodes to
// bytes that decode to the same record and encode to the same bytes.
func FuzzUnmarshalBinary(f *testing.F) {
	for _, r := range append(chained(12), edgeRecords()...) {
		b, _ := r.MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r trace.Record
		if err := r.UnmarshalBinary(data); err != nil {
			return
		}
		enc, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var again trace.Record
		if err := again.UnmarshalBinary(enc); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		enc2, _ := again.MarshalBinary()
		if !bytes.Equal(enc, enc2) {
			t.Fatal("decode → encode → decode → encode is not stable")
		}
		if again.ComputeHash() != r.ComputeHash() || again.Check() != r.Check() {
			t.Fatal("the hash changed across a round trip")
		}
		if !again.Time.Equal(r.Time) {
			t.Fatalf("Time %v became %v", r.Time, again.Time)
		}
	})
}
