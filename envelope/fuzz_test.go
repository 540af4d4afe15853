package envelope_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/smime"
)

// corpusSeeds returns the messages of ../../shared/corpus, read at run
// time when the corpus is there (it is never copied into the module).
func corpusSeeds(tb testing.TB) [][]byte {
	files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "corpus", "*.eml"))
	var out [][]byte
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzParse checks that Parse never panics, fails only with typed errors,
// reads the same bytes the same way twice, and that certification data it
// reads and Validate accepts is stable through Marshal and Unmarshal.
// Seeds: a message of every kind (the receipts exercise the rejection
// path) and the corpus; crashers are kept in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	set := fixtures(f)
	for _, k := range pec.Kinds {
		f.Add(set.Messages[k])
	}
	for _, b := range corpusSeeds(f) {
		f.Add(b)
	}
	opts := trusted(f, set)
	f.Fuzz(func(t *testing.T, b []byte) {
		e1, err1 := envelope.Parse(bytes.NewReader(b), opts)
		e2, err2 := envelope.Parse(bytes.NewReader(b), opts)
		if fmt.Sprint(err1) != fmt.Sprint(err2) {
			t.Fatalf("nondeterministic error: %v / %v", err1, err2)
		}
		if err1 != nil {
			if e1 != nil {
				t.Fatal("envelope returned with an error")
			}
			var pe *pec.ParseError
			if !errors.As(err1, &pe) && !errors.Is(err1, envelope.ErrNotEnvelope) {
				t.Fatalf("untyped error %T: %v", err1, err1)
			}
			return
		}
		if e1.Kind != e2.Kind || len(e1.Problems) != len(e2.Problems) || verdict(e1.Signature) != verdict(e2.Signature) {
			t.Fatalf("nondeterministic reading: %s %d %s / %s %d %s",
				e1.Kind, len(e1.Problems), verdict(e1.Signature), e2.Kind, len(e2.Problems), verdict(e2.Signature))
		}
		if !e1.Kind.IsEnvelope() {
			t.Fatalf("Parse returned a %s", e1.Kind)
		}
		for _, p := range e1.Problems {
			if p == nil {
				t.Fatal("nil problem")
			}
		}
		checkStable(t, e1.Data)
		// The accessors must not fail on what Parse accepted.
		_, _, _, _ = e1.Text(), e1.Sender(), e1.Subject(), e1.Err()
		if r, err := e1.Original(); err == nil {
			io.Copy(io.Discard, r)
		} else if e1.HasOriginal() {
			t.Fatalf("HasOriginal but Original: %v", err)
		}
		if r, err := e1.CertData(); err == nil {
			io.Copy(io.Discard, r)
		}
	})
}

// verdict summarises what a signature check found.
func verdict(v *smime.Verdict) string {
	if v == nil {
		return "unsigned"
	}
	var codes []string
	for _, p := range v.Problems {
		codes = append(codes, string(p.Code))
	}
	return fmt.Sprintf("intact=%v trusted=%v [%s]", v.Intact, v.Trusted != nil && *v.Trusted, strings.Join(codes, " "))
}

// checkStable checks that valid certification data reads back equal from
// its own Marshal output. The instant must be equal; its offset may change,
// since Marshal writes Italian legal time.
func checkStable(t *testing.T, d *daticert.Data) {
	t.Helper()
	if d == nil || d.Validate() != nil {
		return
	}
	x, err := d.Marshal()
	if err != nil {
		t.Fatalf("Marshal of valid data: %v", err)
	}
	back, err := daticert.Unmarshal(x)
	if err != nil {
		t.Fatalf("Unmarshal of Marshal output: %v\n%s", err, x)
	}
	if !back.Time.Equal(d.Time) {
		t.Fatalf("time %v read back as %v", d.Time, back.Time)
	}
	a, b := *d, *back
	a.Time = b.Time
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("certification data not stable:\n%+v\n%+v\n%s", a, b, x)
	}
}
