package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// sameNameCount is the attachment count of the extract benchmarks: 8,000
// attachments of one name took 5.7 s when each duplicate retried its
// suffixes from -2.
const sameNameCount = 8000

// BenchmarkFileNames: naming sameNameCount attachments of one name.
func BenchmarkFileNames(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		n := newFileNames("postacert.eml", "daticert.xml")
		for range sameNameCount {
			n.unique("fattura.xml")
		}
	}
}

// BenchmarkExtractSameName: "pec extract" of an envelope whose original
// carries sameNameCount attachments of one name.
func BenchmarkExtractSameName(b *testing.B) {
	src := transportFile(b, manyAttachments(sameNameCount, "fattura.xml"))
	for b.Loop() {
		out := b.TempDir()
		if st, _, stderr := runTool("extract", "-o", out, src); st != 0 {
			b.Fatalf("pec extract: status %d: %s", st, stderr)
		}
	}
}

// BenchmarkCreateFilesFloor: the floor of BenchmarkExtractSameName,
// creating and writing sameNameCount small files in a new folder.
func BenchmarkCreateFilesFloor(b *testing.B) {
	for b.Loop() {
		dir := b.TempDir()
		for i := range sameNameCount {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("fattura-%d.xml", i)), []byte("allegato"), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}
