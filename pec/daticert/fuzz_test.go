package daticert

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParse checks that Unmarshal never panics, fails only with a
// *ParseError, and that whatever it reads and Validate accepts is stable:
// parse → build → parse gives the same Data, and building again the same
// bytes. Seeds: the tolerant and hostile inputs of the tests, the output of
// Marshal, and the daticert.xml of the corpus when it is present;
// regressions found by the fuzzer are kept in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, tc := range tolerantCases {
		f.Add([]byte(tc.in))
	}
	for _, d := range []*Data{fullData(), minimalData()} {
		b, err := d.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<!DOCTYPE postacert [<!ENTITY a "b">]><postacert tipo="accettazione">&a;</postacert>`))
	f.Add([]byte(`<postacert><a><a><a><a></a></a></a></a></postacert>`))
	f.Add([]byte(std().String()[:200]))
	if docs, err := readCorpus(); err == nil { // TestCorpus reports an absent corpus
		for _, b := range docs {
			f.Add(b)
		}
	}

	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := Unmarshal(in)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError: %v", err, err)
			}
			if d != nil {
				t.Fatal("data returned with an error")
			}
			return
		}
		if d.Validate() != nil {
			return
		}
		b, err := d.Marshal()
		if err != nil {
			t.Fatalf("Marshal of valid data: %v", err)
		}
		back, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("Unmarshal of Marshal output: %v\n%s", err, b)
		}
		// The offset may change: Marshal writes Italian legal time.
		if diff := diffData(back, d, false); diff != "" {
			t.Fatalf("parse → build → parse differs:\n%s\n%s", diff, b)
		}
		b2, err := back.Marshal()
		if err != nil {
			t.Fatalf("Marshal after round trip: %v", err)
		}
		if !bytes.Equal(b, b2) {
			t.Fatalf("build is not stable:\n%s\n---\n%s", b, b2)
		}
	})
}
