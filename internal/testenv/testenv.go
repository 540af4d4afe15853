// Package testenv locates what the tests need outside the module: the
// shared corpus of real PEC messages, the specification files, and tools
// such as openssl and xmllint. Absent things skip a test with a message,
// except under CI=true, where they fail it.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// CI reports whether the tests run under CI=true.
func CI() bool { return os.Getenv("CI") == "true" }

// root returns the module root, from this file's location.
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Shared returns the path of ../shared/<elem> beside the module, skipping
// (or, under CI, failing) the test when it does not exist.
func Shared(tb testing.TB, elem ...string) string {
	tb.Helper()
	p := filepath.Join(append([]string{root(), "..", "shared"}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		if CI() {
			tb.Fatalf("%s is required under CI=true: %v", p, err)
		}
		tb.Skipf("%s not found (%v): skipping", p, err)
	}
	return p
}

// Corpus returns the folder of real PEC messages.
func Corpus(tb testing.TB) string { return Shared(tb, "corpus") }

// CorpusFiles returns the .eml files of the corpus.
func CorpusFiles(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(Corpus(tb), "*.eml"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no .eml in the corpus: %v", err)
	}
	return files
}

// Tool returns the path of an executable, skipping (or failing under CI)
// when it is not installed.
func Tool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if CI() {
			tb.Fatalf("%s is required under CI=true: %v", name, err)
		}
		tb.Skipf("%s not installed: skipping", name)
	}
	return p
}
