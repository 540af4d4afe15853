package mailbox

import (
	"os"
	"path/filepath"
	"testing"
)

// TestTmpFile places a delivery's file both ways, nameless (where the
// system allows it) and named in tmp/: the message is at both its names,
// whole, tmp/ is left empty, and a file discarded before it is placed
// leaves nothing behind.
func TestTmpFile(t *testing.T) {
	for _, named := range []bool{false, true} {
		name := "nameless"
		if named {
			name = "named"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for _, sub := range []string{"tmp", "new", "cur"} {
				if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
					t.Fatal(err)
				}
			}
			create := func(base string) *tmpFile {
				if named {
					path := filepath.Join(dir, "tmp", base)
					f, err := openFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
					if err != nil {
						t.Fatal(err)
					}
					return &tmpFile{f: f, path: path}
				}
				tf, err := createTmp(dir, base, 0o600)
				if err != nil {
					t.Fatal(err)
				}
				return tf
			}
			tf := create("one")
			if _, err := tf.f.WriteString("message"); err != nil {
				t.Fatal(err)
			}
			if err := tf.f.Sync(); err != nil {
				t.Fatal(err)
			}
			archived, placed := filepath.Join(dir, "cur", "one:2,S"), filepath.Join(dir, "new", "one")
			if err := tf.link(archived); err != nil {
				t.Fatal(err)
			}
			if err := tf.link(archived); err == nil {
				t.Fatal("a second link to an existing name succeeded")
			}
			if err := tf.place(placed); err != nil {
				t.Fatal(err)
			}
			tf.discard()
			for _, p := range []string{archived, placed} {
				if b, err := os.ReadFile(p); err != nil || string(b) != "message" {
					t.Fatalf("%s: %q, %v", p, b, err)
				}
			}
			gone := create("two")
			gone.f.WriteString("dropped")
			gone.discard()
			if ents, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(ents) != 0 {
				t.Fatalf("tmp/ holds %d files", len(ents))
			}
			if ents, _ := os.ReadDir(filepath.Join(dir, "new")); len(ents) != 1 {
				t.Fatalf("new/ holds %d files, want 1", len(ents))
			}
		})
	}
}
