package receipt_test

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

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/receipt"
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
// reads the same bytes the same way twice, that a failure notice always
// carries its *pec.Error, and that certification data it reads and
// Validate accepts is stable through Marshal and Unmarshal. Seeds: a
// message of every kind (the envelopes exercise the rejection path) and
// the corpus; crashers are kept in testdata/fuzz/FuzzParse.
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
		r1, err1 := receipt.Parse(bytes.NewReader(b), opts)
		r2, err2 := receipt.Parse(bytes.NewReader(b), opts)
		if fmt.Sprint(err1) != fmt.Sprint(err2) {
			t.Fatalf("nondeterministic error: %v / %v", err1, err2)
		}
		if err1 != nil {
			if r1 != nil {
				t.Fatal("receipt returned with an error")
			}
			var pe *pec.ParseError
			if !errors.As(err1, &pe) && !errors.Is(err1, receipt.ErrNotReceipt) {
				t.Fatalf("untyped error %T: %v", err1, err1)
			}
			return
		}
		if r1.Kind != r2.Kind || len(r1.Problems) != len(r2.Problems) || verdict(r1.Signature) != verdict(r2.Signature) ||
			len(r1.Hashes) != len(r2.Hashes) || fmt.Sprint(r1.Error) != fmt.Sprint(r2.Error) {
			t.Fatalf("nondeterministic reading: %s %d %s / %s %d %s",
				r1.Kind, len(r1.Problems), verdict(r1.Signature), r2.Kind, len(r2.Problems), verdict(r2.Signature))
		}
		if !r1.Kind.IsReceipt() {
			t.Fatalf("Parse returned a %s", r1.Kind)
		}
		for _, p := range r1.Problems {
			if p == nil {
				t.Fatal("nil problem")
			}
		}
		var perr *pec.Error
		if hasError := errors.As(r1.Err(), &perr); hasError != (r1.Error != nil) {
			t.Fatalf("Err() %v does not match Error %v", r1.Err(), r1.Error)
		}
		if r1.Error != nil && r1.Error.Kind != r1.Kind {
			t.Fatalf("Error of kind %s in a %s", r1.Error.Kind, r1.Kind)
		}
		checkStable(t, r1.Data)
		// The accessors must not fail on what Parse accepted.
		_, _ = r1.Text(), r1.Subject()
		if r, err := r1.Original(); err == nil {
			io.Copy(io.Discard, r)
		} else if r1.HasOriginal() {
			t.Fatalf("HasOriginal but Original: %v", err)
		}
		if r, err := r1.CertData(); err == nil {
			io.Copy(io.Discard, r)
		}
		for _, h := range r1.Hashes {
			r1.CheckAttachment(h.Name, strings.NewReader("x"))
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
