package index_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pecsdk/pec/pec/index"
)

// TestSourcesAgree: the in-memory index, its LDIF and the LDIF file read
// through a File source give the same entries and the same answers (the
// slapd source joins them in TestSlapd).
func TestSourcesAgree(t *testing.T) {
	w := testWorld(t)
	mem, err := index.New(w.providers)
	if err != nil {
		t.Fatal(err)
	}
	fromLDIF, err := index.ParseLDIF(bytes.NewReader(w.ldif(t)))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "index.ldif")
	if err := os.WriteFile(path, w.ldif(t), 0o644); err != nil {
		t.Fatal(err)
	}
	fromFile, err := (&index.File{Path: path}).Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*index.Snapshot{"memory": mem, "ldif": fromLDIF, "file": fromFile} {
		t.Run(name, func(t *testing.T) {
			checkLookups(t, w, s)
			if got, want := dump(s), dump(mem); got != want {
				t.Errorf("entries differ from memory:\n%s\nwant\n%s", got, want)
			}
			if s.Len() != 4 {
				t.Errorf("Len %d, want 4", s.Len())
			}
		})
	}
}
