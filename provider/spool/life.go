package spool

import (
	"context"
	"sync"
)

// life tracks the calls under way on a spool so that Close can interrupt
// them and wait for them.
type life struct {
	mu     sync.Mutex
	closed bool
	calls  sync.WaitGroup
	stop   context.Context // done at Close
	cancel context.CancelFunc
}

func (l *life) init() { l.stop, l.cancel = context.WithCancel(context.Background()) }

// begin starts a call: it returns a context done with ctx or at Close
// (its cause then ErrClosed), and the function that ends the call, or
// ErrClosed.
func (l *life) begin(ctx context.Context) (context.Context, func(), error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, nil, ErrClosed
	}
	l.calls.Add(1)
	l.mu.Unlock()
	if err := ctx.Err(); err != nil {
		l.calls.Done()
		return nil, nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(l.stop, func() { cancel(ErrClosed) })
	return ctx, func() { stop(); cancel(nil); l.calls.Done() }, nil
}

// close refuses new calls, interrupts those under way and waits for them.
// It reports whether the spool was open.
func (l *life) close() bool {
	l.mu.Lock()
	was := !l.closed
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	l.calls.Wait()
	return was
}

// ctxReader reads r until ctx is done, then fails with its cause.
type ctxReader struct {
	ctx context.Context
	r   interface{ Read([]byte) (int, error) }
}

func (c ctxReader) Read(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}
