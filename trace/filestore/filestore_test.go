package filestore

import (
	"context"
	"testing"

	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/tracetest"
)

var _ trace.Store = (*Store)(nil)

func openT(t *testing.T, dir string, opts *Options) *Store {
	t.Helper()
	st, err := Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return st
}

func TestConformance(t *testing.T) {
	tracetest.Run(t, func(t *testing.T) trace.Store { return openT(t, t.TempDir(), nil) })
}

// TestConformanceSmallSegments runs the suite with segments rolled after
// every few records, so that reads, scans and cuts cross segment files.
func TestConformanceSmallSegments(t *testing.T) {
	tracetest.Run(t, func(t *testing.T) trace.Store { return openT(t, t.TempDir(), &Options{SegmentSize: 2048}) })
}

func TestDurable(t *testing.T) {
	tracetest.RunDurable(t, func(t *testing.T, dir string) trace.Store { return openT(t, dir, nil) })
}

func TestDurableSmallSegments(t *testing.T) {
	tracetest.RunDurable(t, func(t *testing.T, dir string) trace.Store { return openT(t, dir, &Options{SegmentSize: 2048}) })
}
