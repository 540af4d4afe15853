package spool

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"
)

// Memory is a Spool held in memory: bodies and outputs included, nothing
// durable. It is the fixture of tests, ours and our users'.
type Memory struct {
	tab  *table
	now  func() time.Time
	life life
}

var _ Spool = (*Memory)(nil)

// NewMemory returns an empty spool held in memory.
func NewMemory(opts *Options) *Memory {
	m := &Memory{tab: newTable(), now: opts.now()}
	m.life.init()
	return m
}

// Put stores the item and a copy of its body; see Spool.Put.
func (m *Memory) Put(ctx context.Context, it *Item, body io.Reader) error {
	if err := validItem(it); err != nil {
		return err
	}
	ctx, end, err := m.life.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	if m.tab.get(it.ID) != nil {
		return exists(it.ID)
	}
	e := &entry{item: prepare(it, m.now), outputs: map[string][]byte{}}
	if e.body, err = readAll(ctx, body); err != nil {
		return fmt.Errorf("spool: reading the body of item %q: %w", it.ID, err)
	}
	e.size = int64(len(e.body))
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if !m.tab.add(e) {
		return exists(it.ID)
	}
	return nil
}

// Get returns where the item stands; see Spool.Get.
func (m *Memory) Get(ctx context.Context, id string) (*State, error) {
	e, end, err := m.find(ctx, id)
	if err != nil {
		return nil, err
	}
	defer end()
	return m.tab.state(e), nil
}

// Body returns a reader of the body; see Spool.Body.
func (m *Memory) Body(ctx context.Context, id string) (io.ReadCloser, error) {
	e, end, err := m.find(ctx, id)
	if err != nil {
		return nil, err
	}
	defer end()
	return io.NopCloser(bytes.NewReader(e.body)), nil
}

// Done records the step and a copy of its output; see Spool.Done.
func (m *Memory) Done(ctx context.Context, id, step string, output io.Reader) error {
	if err := validStep(step); err != nil {
		return err
	}
	e, end, err := m.find(ctx, id)
	if err != nil {
		return err
	}
	defer end()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.gone {
		return notFound(id, "")
	}
	if m.tab.isDone(e, step) {
		return nil
	}
	var out []byte
	if output != nil {
		if out, err = readAll(ctx, output); err != nil {
			return fmt.Errorf("spool: reading the output of step %q of item %q: %w", step, id, err)
		}
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	m.tab.mu.Lock()
	e.outputs[step] = out
	m.tab.mu.Unlock()
	m.tab.markDone(e, step)
	return nil
}

// Output returns a reader of the step's output; see Spool.Output.
func (m *Memory) Output(ctx context.Context, id, step string) (io.ReadCloser, error) {
	if err := validStep(step); err != nil {
		return nil, err
	}
	e, end, err := m.find(ctx, id)
	if err != nil {
		return nil, err
	}
	defer end()
	m.tab.mu.RLock()
	out, ok := e.outputs[step]
	m.tab.mu.RUnlock()
	if !ok {
		return nil, notFound(id, step)
	}
	return io.NopCloser(bytes.NewReader(out)), nil
}

// Retry records a failed attempt; see Spool.Retry.
func (m *Memory) Retry(ctx context.Context, id, step string, next time.Time, cause string) (int, error) {
	if err := validStep(step); err != nil {
		return 0, err
	}
	if err := validRetry(next, cause); err != nil {
		return 0, err
	}
	e, end, err := m.find(ctx, id)
	if err != nil {
		return 0, err
	}
	defer end()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.gone {
		return 0, notFound(id, "")
	}
	if m.tab.isDone(e, step) {
		return 0, nil
	}
	r := Retry{Step: step, Attempts: m.tab.attempts(e, step) + 1, Next: next.Round(0).Truncate(time.Microsecond), Cause: cause}
	m.tab.setRetry(e, r)
	return r.Attempts, nil
}

// Pending lists the items not completed; see Spool.Pending.
func (m *Memory) Pending(ctx context.Context, opts *PendingOptions) ([]*State, error) {
	_, end, err := m.life.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	return m.tab.pending(opts), nil
}

// Complete removes the item; see Spool.Complete.
func (m *Memory) Complete(ctx context.Context, id string) error {
	e, end, err := m.find(ctx, id)
	if err != nil {
		return err
	}
	defer end()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.gone {
		return notFound(id, "")
	}
	m.tab.remove(e)
	return nil
}

// Close closes the spool; see Spool.Close.
func (m *Memory) Close() error {
	m.life.close()
	return nil
}

// find starts a call on item id.
func (m *Memory) find(ctx context.Context, id string) (*entry, func(), error) {
	if err := ValidID(id); err != nil {
		return nil, nil, err
	}
	_, end, err := m.life.begin(ctx)
	if err != nil {
		return nil, nil, err
	}
	e := m.tab.get(id)
	if e == nil {
		end()
		return nil, nil, notFound(id, "")
	}
	return e, end, nil
}

// readAll reads r to the end, until ctx is done.
func readAll(ctx context.Context, r io.Reader) ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	if l, ok := r.(interface{ Len() int }); ok && l.Len() >= 0 {
		// A bytes.Reader, bytes.Buffer or strings.Reader: in one
		// allocation, not grown from 512 bytes.
		b := make([]byte, 0, l.Len()+bytes.MinRead) // ReadFrom wants MinRead free before each read
		buf := bytes.NewBuffer(b)
		_, err := buf.ReadFrom(ctxReader{ctx, r})
		return buf.Bytes(), err
	}
	return io.ReadAll(ctxReader{ctx, r})
}
