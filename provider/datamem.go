package provider

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// dataChunk is the step by which a DATA phase takes memory from the
// budget as its body grows.
const dataChunk = 64 << 10

// errDataMemory answers a DATA phase that found no memory for its body
// within the wait: a temporary error, the client tries again later.
var errDataMemory = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "too many messages being received, try again later"}

// memBudget bounds the memory that the DATA phases of both listeners
// hold for message bodies. Every phase takes dataChunk bytes from the
// small pool for the start of its body, and a body longer than that a
// large slot, which allows it up to max bytes; the small pool and the
// slots together are at most the budget. A phase never waits while
// holding more than its first chunk, so that phases cannot hold each
// other up for ever.
type memBudget struct {
	mu     sync.Mutex
	small  int64         // bytes free in the small pool
	slots  int           // large slots free
	max    int64         // the bytes of a large slot
	freed  chan struct{} // closed at the next release
	inUse  int64         // bytes taken: small chunks and large slots
	peak   int64         // the most inUse has been, for tests
	budget int64
}

// newMemBudget splits budget into as many large slots of max bytes as
// leave at least one chunk to the small pool (at least one slot), and
// the small pool.
func newMemBudget(budget, max int64) *memBudget {
	slots := int(max64(1, (budget-dataChunk)/max))
	return &memBudget{small: budget - int64(slots)*max, slots: slots, max: max, freed: make(chan struct{}), budget: budget}
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// take waits until ok, called under b.mu, reports that what is wanted
// was free and taken, or ctx is done.
func (b *memBudget) take(ctx context.Context, ok func() bool) error {
	for {
		b.mu.Lock()
		if ok() {
			b.peak = max(b.peak, b.inUse)
			b.mu.Unlock()
			return nil
		}
		ch := b.freed
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// chunk takes the first chunk of a body.
func (b *memBudget) chunk(ctx context.Context) error {
	return b.take(ctx, func() bool {
		if b.small < dataChunk {
			return false
		}
		b.small -= dataChunk
		b.inUse += dataChunk
		return true
	})
}

// slot takes a large slot.
func (b *memBudget) slot(ctx context.Context) error {
	return b.take(ctx, func() bool {
		if b.slots == 0 {
			return false
		}
		b.slots--
		b.inUse += b.max
		return true
	})
}

// release gives back a first chunk and, when large is set, a slot.
func (b *memBudget) release(large bool) {
	b.mu.Lock()
	b.small += dataChunk
	b.inUse -= dataChunk
	if large {
		b.slots++
		b.inUse -= b.max
	}
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// dataChunks are the first chunks of DATA bodies, reused from one body
// to the next.
var dataChunks = sync.Pool{New: func() any { b := make([]byte, dataChunk); return &b }}

// readData reads a DATA body whole within the memory budget and returns
// it with the function that gives its memory back (to call once the body
// is no longer needed). A body that cannot get its memory within wait
// (or before the provider stops) is refused with a 452.
func (p *Provider) readData(r io.Reader, wait time.Duration) ([]byte, func(), error) {
	ctx, cancel := context.WithTimeout(p.ctx, wait)
	defer cancel()
	refuse := func(err error) ([]byte, func(), error) {
		p.cfg.Logger.Warn("DATA refused: the memory for message bodies is spent", "budget", p.mem.budget, "err", err)
		return nil, nil, errDataMemory
	}
	if err := p.mem.chunk(ctx); err != nil {
		return refuse(err)
	}
	// The chunk is reused once released: a body no longer than a chunk
	// is read into it and must not be kept past release.
	bp := dataChunks.Get().(*[]byte)
	buf := *bp
	n := 0
	for n < len(buf) {
		// Not io.ReadFull: it would take a connection cut in the middle
		// of DATA (io.ErrUnexpectedEOF from the reader) for the end.
		m, err := r.Read(buf[n:])
		n += m
		if errors.Is(err, io.EOF) {
			return buf[:n], func() {
				p.mem.release(false)
				dataChunks.Put(bp)
			}, nil
		}
		if err != nil {
			p.mem.release(false)
			dataChunks.Put(bp)
			return nil, nil, err
		}
	}
	// Longer than a chunk: a large slot, waited for holding one chunk.
	if err := p.mem.slot(ctx); err != nil {
		p.mem.release(false)
		dataChunks.Put(bp)
		return refuse(err)
	}
	var b bytes.Buffer
	b.Write(buf)
	dataChunks.Put(bp)
	if _, err := b.ReadFrom(io.LimitReader(r, p.mem.max-dataChunk+1)); err != nil {
		p.mem.release(true)
		return nil, nil, err
	}
	if int64(b.Len()) > p.mem.max {
		p.mem.release(true)
		return nil, nil, &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "message too large"}
	}
	return b.Bytes(), func() { p.mem.release(true) }, nil
}
