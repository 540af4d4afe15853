package envelope_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/sample"
)

// FuzzParse: no panic; the same bytes give the same reading; certification
// data that validates survives marshal and parse unchanged.
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
		e1, err1 := envelope.Parse(bytes.NewReader(b), nil)
		e2, err2 := envelope.Parse(bytes.NewReader(b), nil)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("nondeterministic: %v / %v", err1, err2)
		}
		if err1 != nil {
			return
		}
		if e1.Kind != e2.Kind || len(e1.Problems) != len(e2.Problems) {
			t.Fatalf("nondeterministic reading")
		}
		if e1.Data != nil && e1.Data.Validate() == nil {
			x, err := e1.Data.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			d, err := daticert.Unmarshal(x)
			if err != nil || !reflect.DeepEqual(d.Recipients, e1.Data.Recipients) || d.ID != e1.Data.ID || !d.Time.Equal(e1.Data.Time) {
				t.Fatalf("daticert not stable: %v", err)
			}
		}
		if e1.HasOriginal() {
			if r, err := e1.Original(); err == nil {
				buf := make([]byte, 4096)
				for {
					if _, err := r.Read(buf); err != nil {
						break
					}
				}
			}
		}
	})
}
