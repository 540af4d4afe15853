package daticert

import (
	"bytes"
	"encoding/xml"
	"io"
	"testing"
)

// BenchmarkParse parses the real transport envelope of PEC.md §8.4.
func BenchmarkParse(b *testing.B) {
	in := []byte(namirial)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Unmarshal(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMarshal writes fullData, with Validate.
func BenchmarkMarshal(b *testing.B) {
	d := fullData()
	out, err := d.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate is the share of Validate in BenchmarkMarshal.
func BenchmarkValidate(b *testing.B) {
	d := fullData()
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloorTokens is the floor of BenchmarkParse: the strict
// encoding/xml token stream of the same input, with nothing kept.
func BenchmarkFloorTokens(b *testing.B) {
	in := []byte(namirial)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		dec := xml.NewDecoder(bytes.NewReader(in))
		dec.Strict = true
		for {
			if _, err := dec.Token(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkFloorCopy is the floor of BenchmarkMarshal: copying the same
// output into a fresh buffer.
func BenchmarkFloorCopy(b *testing.B) {
	out, err := fullData().Marshal()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		var buf bytes.Buffer
		buf.Grow(len(out))
		buf.Write(out)
	}
}
