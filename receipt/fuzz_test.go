package receipt_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/receipt"
	"github.com/pecsdk/pec/sample"
)

// FuzzParse: no panic; deterministic; valid certification data is stable
// through marshal and parse; a failure notice always carries its error.
func FuzzParse(f *testing.F) {
	set, err := sample.New(time.Now())
	if err != nil {
		f.Fatal(err)
	}
	for _, k := range pec.Kinds {
		f.Add(set.Messages[k])
	}
	if files, _ := filepath.Glob("../../shared/corpus/*.eml"); len(files) > 0 {
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r1, err1 := receipt.Parse(bytes.NewReader(b), nil)
		r2, err2 := receipt.Parse(bytes.NewReader(b), nil)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("nondeterministic: %v / %v", err1, err2)
		}
		if err1 != nil {
			return
		}
		if r1.Kind != r2.Kind || len(r1.Problems) != len(r2.Problems) {
			t.Fatal("nondeterministic reading")
		}
		if r1.Data != nil && r1.Data.Validate() == nil {
			x, err := r1.Data.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			d, err := daticert.Unmarshal(x)
			if err != nil || d.ID != r1.Data.ID || d.Type != r1.Data.Type || !d.Time.Equal(r1.Data.Time) {
				t.Fatalf("daticert not stable: %v", err)
			}
		}
		_ = r1.Err()
	})
}
