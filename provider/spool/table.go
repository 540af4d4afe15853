package spool

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// entry is one item as an implementation keeps it in memory. Writes on
// an item hold mu for their whole length (I/O included); the fields after
// it change only under the table's lock, so that reads never wait for a
// write's I/O.
type entry struct {
	mu      sync.Mutex
	item    Item
	size    int64
	steps   map[string]bool
	retries map[string]Retry
	gone    bool // completed: removed from the table

	// The directory implementation's log: where each step's output lies
	// in it (steps done before logs, in files of their own, are not
	// there), and its length. Changed under mu only.
	outs   map[string]logSpan
	logEnd int64
	inItem bool // the log follows the item's frame in its file (else <id>.log)
	// file is the item's file kept open for its log's appends and the
	// readers of its body and outputs, or nil (see Dir.keep); let go by
	// Complete and Close. Set under mu, read by readers without it.
	file atomic.Pointer[itemFile]
	// bodySpan is where the body lies in the item's file, when known
	// without reading the frame (hasBody: an item put by this process).
	bodySpan logSpan
	hasBody  bool

	body    []byte            // the memory implementation's body
	outputs map[string][]byte // and step outputs
}

// logSpan is where a step's output lies in its item's log.
type logSpan struct {
	off, len int64
	crc      uint32
}

// table is the in-memory index of the items of a spool.
type table struct {
	mu sync.RWMutex
	m  map[string]*entry
}

func newTable() *table { return &table{m: map[string]*entry{}} }

func (t *table) get(id string) *entry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.m[id]
}

// add puts e in the table unless its ID is there; it reports whether it
// did.
func (t *table) add(e *entry) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m[e.item.ID] != nil {
		return false
	}
	if e.steps == nil {
		e.steps = map[string]bool{}
	}
	if e.retries == nil {
		e.retries = map[string]Retry{}
	}
	t.m[e.item.ID] = e
	return true
}

func (t *table) remove(e *entry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e.gone = true
	if t.m[e.item.ID] == e {
		delete(t.m, e.item.ID)
	}
}

func (t *table) isDone(e *entry, step string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return e.steps[step]
}

func (t *table) markDone(e *entry, step string) (hadRetry bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e.steps[step] = true
	_, hadRetry = e.retries[step]
	delete(e.retries, step)
	return hadRetry
}

// markDoneAt marks step done with its output at span in the log; it
// reports whether the step had a retry.
func (t *table) markDoneAt(e *entry, step string, span logSpan) (hadRetry bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e.steps[step] = true
	_, hadRetry = e.retries[step]
	delete(e.retries, step)
	if e.outs == nil {
		e.outs = map[string]logSpan{}
	}
	e.outs[step] = span
	return hadRetry
}

// span returns where step's output lies in the log, whether it is
// there (not in a file of its own), and whether the step is done.
func (t *table) span(e *entry, step string) (span logSpan, inLog, done bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	span, inLog = e.outs[step]
	return span, inLog, e.steps[step]
}

func (t *table) attempts(e *entry, step string) int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return e.retries[step].Attempts
}

func (t *table) setRetry(e *entry, r Retry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e.retries[r.Step] = r
}

// state returns a copy of where e stands.
func (t *table) state(e *entry) *State {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return e.stateLocked()
}

func (e *entry) stateLocked() *State {
	s := &State{Item: copyItem(&e.item), Size: e.size}
	s.Steps = slices.Sorted(maps.Keys(e.steps))
	for _, step := range slices.Sorted(maps.Keys(e.retries)) {
		s.Retries = append(s.Retries, e.retries[step])
	}
	return s
}

// dueLocked is State.Due of e's state, without copying it. Call with the
// table's lock held.
func (e *entry) dueLocked() time.Time {
	if len(e.retries) == 0 {
		return e.item.Received
	}
	var due time.Time
	first := true
	for _, r := range e.retries {
		if first || r.Next.Before(due) {
			due, first = r.Next, false
		}
	}
	return due
}

// pending returns the states Pending returns.
func (t *table) pending(opts *PendingOptions) []*State {
	var o PendingOptions
	if opts != nil {
		o = *opts
	}
	t.mu.RLock()
	out := make([]*State, 0, len(t.m))
	for _, e := range t.m {
		// The state is copied only for the items kept: a provider
		// polls for the items due among many waiting.
		if o.Due.IsZero() || !e.dueLocked().After(o.Due) {
			out = append(out, e.stateLocked())
		}
	}
	t.mu.RUnlock()
	sortStates(out)
	if o.Limit > 0 && len(out) > o.Limit {
		out = out[:o.Limit]
	}
	return out
}

func sortStates(out []*State) {
	sort.Slice(out, func(i, j int) bool {
		di, dj := out[i].Due(), out[j].Due()
		if !di.Equal(dj) {
			return di.Before(dj)
		}
		return strings.Compare(out[i].Item.ID, out[j].Item.ID) < 0
	})
}

// copyItem returns a deep copy of it, an empty Meta as nil.
func copyItem(it *Item) Item {
	c := *it
	c.To = slices.Clone(it.To)
	c.Meta = nil
	if len(it.Meta) > 0 {
		c.Meta = maps.Clone(it.Meta)
	}
	return c
}

// prepare returns the item as a spool stores it: a deep copy, Received
// set to now when zero and cut to the microsecond.
func prepare(it *Item, now func() time.Time) Item {
	c := copyItem(it)
	if c.Received.IsZero() {
		c.Received = now()
	}
	c.Received = c.Received.Round(0).Truncate(time.Microsecond)
	return c
}
