package memstore_test

import (
	"context"
	"testing"

	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/memstore"
	"github.com/pecsdk/pec/trace/tracetest"
)

func TestConformance(t *testing.T) {
	tracetest.Run(t, func(t *testing.T) trace.Store { return memstore.New(nil) })
}

// kept is a view of a memstore that Close detaches from without closing
// the store, so that RunDurable can reopen it.
type kept struct {
	*memstore.Store
	closed bool
}

func (k *kept) Append(ctx context.Context, recs ...*trace.Record) error {
	if k.closed {
		return trace.ErrClosed
	}
	return k.Store.Append(ctx, recs...)
}

func (k *kept) Close() error { k.closed = true; return nil }

func TestDurableSuite(t *testing.T) {
	stores := map[string]*memstore.Store{}
	tracetest.RunDurable(t, func(t *testing.T, dir string) trace.Store {
		if stores[dir] == nil {
			stores[dir] = memstore.New(nil)
		}
		return &kept{Store: stores[dir]}
	})
}
