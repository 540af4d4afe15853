package index_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/index"
)

// blockingSource loads only when released.
type blockingSource struct{ release chan struct{} }

func (b *blockingSource) Load(ctx context.Context) (*index.Snapshot, error) {
	select {
	case <-b.release:
		return index.New(nil)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// nilSource returns neither a snapshot nor an error.
type nilSource struct{}

func (nilSource) Load(context.Context) (*index.Snapshot, error) { return nil, nil }

// TestRefreshWaitHonoursContext: a Refresh waiting behind another one
// ends with its own context; a source that returns no snapshot is a
// failure, not a panic.
func TestRefreshWaitHonoursContext(t *testing.T) {
	src := &blockingSource{release: make(chan struct{})}
	m := index.NewMirror(src, nil)
	first := make(chan error, 1)
	go func() { first <- m.Refresh(context.Background()) }()
	time.Sleep(20 * time.Millisecond) // let the first refresh take the slot
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := m.Refresh(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second Refresh: %v, want its deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("second Refresh waited %v past its deadline", d)
	}
	close(src.release)
	if err := <-first; err != nil {
		t.Fatalf("first Refresh: %v", err)
	}

	n := index.NewMirror(nilSource{}, nil)
	if err := n.Refresh(context.Background()); !errors.Is(err, index.ErrDirectory) {
		t.Errorf("Refresh from a source without a snapshot: %v, want ErrDirectory", err)
	}
}
