package spool_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pecsdk/pec/provider/spool"
	"github.com/pecsdk/pec/provider/spool/spooltest"
)

func TestMemoryConformance(t *testing.T) {
	spooltest.Run(t, func(t *testing.T) spool.Spool { return spool.NewMemory(nil) }, &spooltest.Options{HoldsBodies: true})
}

var testNow = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

func openDir(t *testing.T, dir string) spool.Spool {
	t.Helper()
	sp, err := spool.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatalf("Open %s: %v", dir, err)
	}
	if d := sp.Damaged(); len(d) != 0 {
		t.Fatalf("Open %s: damaged %v", dir, d)
	}
	return sp
}

func TestDirConformance(t *testing.T) {
	spooltest.Run(t, func(t *testing.T) spool.Spool { return openDir(t, t.TempDir()) }, nil)
}

func TestDirDurable(t *testing.T) {
	spooltest.RunDurable(t, openDir)
}

// TestDirTorn tears the last record of an item's log as a crash between
// its write and its fsync may: cut, or its end zeros.
func TestDirTorn(t *testing.T) {
	spooltest.RunTorn(t, openDir, func(t *testing.T, dir, id string, keep int) {
		path := filepath.Join(dir, id+".msg")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		last := bytes.LastIndex(b, []byte("PECR")) // records begin with their magic
		if last < 0 {
			t.Fatal("no record in the item's file")
		}
		at := last + (len(b)-last)*keep/100
		if keep%2 == 1 {
			clear(b[at:])
		} else {
			b = b[:at]
		}
		if err := os.WriteFile(path, b, 0o640); err != nil {
			t.Fatal(err)
		}
	})
}
