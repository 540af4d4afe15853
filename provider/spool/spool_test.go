package spool_test

import (
	"context"
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
