package pecmsg

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestSourceFile: a small file is read into memory with one read from its
// current position, which stays where it was; a file over smallFile is
// read in place.
func TestSourceFile(t *testing.T) {
	dir := t.TempDir()
	msg := "Subject: x\r\n\r\ncorpo\r\n"
	small := filepath.Join(dir, "small.eml")
	if err := os.WriteFile(small, []byte("junk"+msg), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(small)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(4, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	src, size, err := Source(f)
	if err != nil || size != int64(len(msg)) {
		t.Fatalf("Source = %d, %v; want %d bytes", size, err, len(msg))
	}
	if _, inPlace := src.(*io.SectionReader); inPlace {
		t.Error("a small file is read in place, not into memory")
	}
	got := make([]byte, size)
	if n, err := src.ReadAt(got, 0); n != len(msg) || string(got) != msg {
		t.Errorf("ReadAt = %q, %v; want %q", got[:n], err, msg)
	}
	if pos, _ := f.Seek(0, io.SeekCurrent); pos != 4 {
		t.Errorf("the file's position moved to %d", pos)
	}

	large := filepath.Join(dir, "large.eml")
	lf, err := os.Create(large)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := lf.Truncate(smallFile + 1); err != nil {
		t.Fatal(err)
	}
	src, size, err = Source(lf)
	if err != nil || size != smallFile+1 {
		t.Fatalf("Source = %d, %v; want %d bytes", size, err, smallFile+1)
	}
	if _, inPlace := src.(*io.SectionReader); !inPlace {
		t.Errorf("a file over %d bytes is read into memory (%T)", smallFile, src)
	}
}
