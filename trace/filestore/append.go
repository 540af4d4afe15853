package filestore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pecsdk/pec/trace"
)

// batch is what the Appends encoded since the syncer last took one have
// to write: one write and one fdatasync make it durable (group commit).
type batch struct {
	chunks    []chunk
	out       []written
	filling   sync.WaitGroup // callers still framing what they placed in it
	indexed   chan struct{}  // closed once its keys are in the indexes (see indexLoop)
	published atomic.Bool    // in the read view (set under Store.mu)
	err       error          // why it failed; read once done is closed
	done      chan struct{}  // closed once the batch is durable (and queued to be published), or failed
}

// chunk is bytes to write at off in sg.
type chunk struct {
	sg  *segment
	off int64
	b   []byte
}

// written is a record of a batch and where it goes.
type written struct {
	r    *trace.Record
	keys *keys
	loc  loc
}

// maxRun bounds the bytes that flush gathers into one write.
const maxRun = 4 << 20

// Append adds recs at the end of the log and returns once they are on disk
// (see trace.Store). Concurrent calls are committed together, with one
// write and one fdatasync. A record that fails Validate or is over
// Options.MaxRecordSize fails the call, and nothing of it is written. ctx
// is honoured until the records are chained; after that the call waits
// for the outcome, which is durable.
//
// Each call validates and encodes its own records, takes the writer lock
// only to chain them (one SHA-256 each) and to place them in the open
// batch, and frames them after it, in parallel with the other calls and
// with the fdatasync of the batch before; the syncer writes and fsyncs
// batch after batch, so the Appends made while one fdatasync runs share
// the next one.
func (s *Store) Append(ctx context.Context, recs ...*trace.Record) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	if len(recs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	items := make([]item, len(recs)) // one allocation for the copies and their keys
	encs := make([]*trace.Encoding, len(recs))
	for i, r := range recs {
		if r == nil {
			return fmt.Errorf("filestore: record %d of %d: %w", i+1, len(recs), &trace.FieldError{Field: "Record", Reason: "nil"})
		}
		if err := r.Validate(); err != nil {
			return fmt.Errorf("filestore: record %d of %d: %w", i+1, len(recs), err)
		}
		if len(r.Message) > s.opts.MaxRecordSize {
			return fmt.Errorf("filestore: record %d of %d: message of %d bytes, over the limit of %d: %w", i+1, len(recs), len(r.Message), s.opts.MaxRecordSize, trace.ErrTooLarge)
		}
		it := &items[i]
		it.rec = *r
		e, _ := encodings.Get().(*trace.Encoding)
		encs[i] = it.rec.EncodeTo(e, frameHeader) // here, in parallel, not under the lock
		s.idx.keysInto(&it.k, &it.rec)
	}
	s.wmu.Lock()
	if s.wclosed {
		s.wmu.Unlock()
		return trace.ErrClosed
	}
	if err := ctx.Err(); err != nil { // waited behind a Cut, say
		s.wmu.Unlock()
		return err
	}
	b, err := s.place(encs, items)
	s.wmu.Unlock()
	if err != nil {
		release(encs)
		return err
	}
	for i, e := range encs {
		var flags byte
		if i == len(encs)-1 {
			flags = flagCommit
		}
		f := e.Bytes()
		putFrameHeader(f[:frameHeader], flags, f[frameHeader:])
	}
	b.filling.Done()
	<-b.done
	if b.err != nil {
		return b.err
	}
	s.publishThrough(b)
	for i, r := range recs {
		c := encs[i].Record()
		r.Seq, r.Prev, r.MessageHash, r.Hash = c.Seq, c.Prev, c.MessageHash, c.Hash
	}
	release(encs) // written: their bytes are no longer read
	return nil
}

// encodings are the Encodings of Appends that returned, for the next ones
// to encode into without allocating.
var encodings sync.Pool

// release gives encs, whose bytes are no longer used, to the next
// Appends, but for those too large to be worth keeping.
func release(encs []*trace.Encoding) {
	for _, e := range encs {
		if len(e.Bytes()) <= 64<<10 {
			encodings.Put(e)
		}
	}
}

// item is the copy of one record an Append keeps, and its index keys.
type item struct {
	rec trace.Record
	k   keys
}

// place chains encs after the last record placed and adds them to the
// open batch, rolling to a new segment when they do not fit in the active
// one, and returns the batch, which the caller must mark filled once it
// has framed them. The caller holds wmu. A record over the size limit
// fails the call alone, with nothing changed; a failure to make a segment
// fails the store.
func (s *Store) place(encs []*trace.Encoding, items []item) (*batch, error) {
	if err := s.failure(); err != nil {
		return nil, err
	}
	size := int64(0)
	seq, prev := s.whead, s.whash
	for i, e := range encs {
		e.Chain(seq+1, prev)
		f := e.Bytes()
		if n := len(f) - frameHeader; n > s.opts.MaxRecordSize {
			return nil, fmt.Errorf("filestore: record %d of %d: %d bytes encoded, over the limit of %d: %w", i+1, len(encs), n, s.opts.MaxRecordSize, trace.ErrTooLarge)
		}
		size += int64(len(f))
		seq, prev = seq+1, e.Record().Hash
	}
	sg := s.active()
	var base int64 // where the frames go in sg
	if sg != nil {
		base = sg.wsize
	}
	end := base + size
	switch {
	case sg != nil && end <= s.opts.SegmentSize && (end <= sg.fill || !s.spareReady()):
		// They fit, in the zero-filled part or while the next file is not ready.
	case sg != nil && base == fileHeader:
		// Alone in a fresh segment: too big to share one.
	default:
		// Roll: this call starts a new segment. A segment is only created
		// once the one before it is whole on disk, so that the segments on
		// disk never leave a gap: every batch before is made durable first.
		if sg != nil {
			if err := s.settle(); err != nil {
				return nil, err
			}
		}
		nsg, err := s.newSegment(s.whead + 1)
		if err != nil {
			return nil, s.fail(err)
		}
		sg, base = nsg, fileHeader
	}
	s.bmu.Lock()
	b := s.open
	if b == nil {
		b = &batch{done: make(chan struct{}), indexed: make(chan struct{})}
		s.open, s.last = b, b
	}
	b.filling.Add(1)
	off := base
	for i, e := range encs {
		f := e.Bytes()
		b.chunks = append(b.chunks, chunk{sg, off, f})
		b.out = append(b.out, written{e.Record(), &items[i].k, loc{off, uint32(len(f) - frameHeader)}})
		off += int64(len(f))
	}
	s.bmu.Unlock()
	sg.wsize = base + size
	s.whead, s.whash = seq, prev
	if sg.wsize >= sg.fill/2 {
		s.wantSpare(sg) // half full: the next file is made meanwhile
	}
	s.wake()
	return b, nil
}

// wake tells the syncer a batch is open. The caller holds wmu, so that
// Close cannot have closed the channel.
func (s *Store) wake() {
	select {
	case s.kick <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// settle waits until every batch placed so far is durable and published,
// and returns the store's failure, if any. The caller holds wmu, so that
// no batch is added meanwhile.
func (s *Store) settle() error {
	s.bmu.Lock()
	last := s.last
	s.bmu.Unlock()
	if last != nil {
		if !s.wclosed {
			s.wake()
		}
		<-last.done
		if last.err == nil {
			s.publishThrough(last)
		}
	}
	return s.failure()
}

// syncLoop is the syncer: it takes the open batch, writes it, fdatasyncs
// the segments it touched, queues it to be published and releases its
// callers (who publish it); then takes the batch the Appends made
// meanwhile, until none is open. It ends once Close has closed kick.
func (s *Store) syncLoop() {
	defer close(s.syncDone)
	defer close(s.toIndex)
	defer s.dio.close()
	take := func() {
		for {
			s.bmu.Lock()
			b := s.open
			s.open = nil
			s.bmu.Unlock()
			if b == nil {
				return
			}
			s.commit(b)
			// Let the callers just woken run now, on this P, rather
			// than wait for it behind the next write and fdatasync
			// (a P in a system call runs nothing else until the
			// runtime takes it back); they then join the next batch.
			runtime.Gosched()
		}
	}
	for range s.kick {
		take()
	}
	take()
}

// commit makes one batch durable and visible, or fails it.
func (s *Store) commit(b *batch) {
	b.filling.Wait()
	err := s.failure()
	var synced []*segment
	if err == nil {
		s.toIndex <- b // indexed while it is written and fdatasync'd
		err = s.flush(b.chunks, &synced)
	}
	for _, sg := range synced {
		if err != nil {
			break
		}
		if e := datasync(sg.f); e != nil {
			err = s.fail(e)
		}
	}
	if err == nil {
		s.commits.Add(1)
		s.pqmu.Lock()
		s.pubq = append(s.pubq, b)
		s.pqmu.Unlock()
	}
	b.err = err
	close(b.done)
}

// publishThrough adds to the read view every batch made durable up to b,
// in order: the first of b's callers to wake does it for all of them,
// while the syncer is already writing the next batch. Their keys are in
// the indexes already (see indexLoop).
func (s *Store) publishThrough(b *batch) {
	if b.published.Load() {
		return
	}
	<-b.indexed // and so every batch before it
	s.mu.Lock()
	defer s.mu.Unlock()
	for !b.published.Load() {
		s.pqmu.Lock()
		if len(s.pubq) == 0 {
			s.pqmu.Unlock()
			return // b failed: never queued
		}
		next := s.pubq[0]
		s.pubq[0] = nil
		s.pubq = s.pubq[1:]
		s.pqmu.Unlock()
		for _, c := range next.chunks {
			c.sg.size = max(c.sg.size, c.off+int64(len(c.b)))
		}
		for _, w := range next.out {
			s.publish(w.r, w.loc)
		}
		next.published.Store(true)
	}
}

// indexLoop adds the keys of each batch the syncer takes to the indexes,
// in order, while the batch is written and fdatasync'd, so that the
// callers it wakes have only to publish it. A reader never sees a record
// before it is published: every look-up stops at the last Seq published.
func (s *Store) indexLoop() {
	defer close(s.indexDone)
	for b := range s.toIndex {
		s.mu.Lock()
		for _, w := range b.out {
			s.idx.add(w.keys, w.r.Seq)
		}
		s.mu.Unlock()
		close(b.indexed)
	}
}

// flush writes the chunks, those that follow each other in one segment
// with one direct write (see direct), or else one write through the page
// cache (up to maxRun bytes), and lists the segments written.
func (s *Store) flush(chunks []chunk, synced *[]*segment) error {
	for i := 0; i < len(chunks); {
		c := chunks[i]
		if !slices.Contains(*synced, c.sg) {
			*synced = append(*synced, c.sg)
		}
		j := runEnd(chunks, i, -1)
		if ok, err := s.dio.write(c.sg, c.off, chunks[i:j]); err != nil {
			return s.fail(err)
		} else if ok {
			i = j
			continue
		}
		j = runEnd(chunks, i, maxRun)
		run := c.b
		if j > i+1 {
			run = s.wbuf[:0]
			for _, d := range chunks[i:j] {
				run = append(run, d.b...)
			}
			s.wbuf = run[:0]
		}
		if _, err := c.sg.f.WriteAt(run, c.off); err != nil {
			return s.fail(err)
		}
		i = j
	}
	return nil
}

// runEnd returns the end of the run of chunks from i that follow each
// other in one segment, of at most limit bytes past the first (no limit if
// negative).
func runEnd(chunks []chunk, i, limit int) int {
	c := chunks[i]
	j, n := i+1, len(c.b)
	for j < len(chunks) && chunks[j].sg == c.sg && chunks[j].off == c.off+int64(n) && (limit < 0 || n+len(chunks[j].b) <= limit) {
		n += len(chunks[j].b)
		j++
	}
	return j
}

// active returns the segment appended to, or nil when there is none yet.
func (s *Store) active() *segment {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.segs) == 0 {
		return nil
	}
	return s.segs[len(s.segs)-1]
}

// newSegment creates the segment starting at first, durably (file and
// directory fsync'd), and makes it the active one. It takes the spare file
// prepared in the background when one is ready (its header is written in
// place and it is renamed); otherwise it makes the file here, filled with
// the zeros of a store's first segment.
func (s *Store) newSegment(first uint64) (*segment, error) {
	path := filepath.Join(s.dir, segName(first))
	var f *os.File
	var fill int64
	if sp := s.takeSpare(); sp != nil {
		f, fill = sp.f, max(sp.size, fileHeader)
		err := error(nil)
		if _, err = os.Lstat(path); err == nil {
			err = &os.PathError{Op: "create", Path: path, Err: os.ErrExist}
		} else if os.IsNotExist(err) {
			err = nil
		}
		if err == nil {
			_, err = f.WriteAt(fileHead(segMagic, first), 0)
		}
		if err == nil {
			err = datasync(f)
		}
		if err == nil {
			err = os.Rename(sp.path, path)
		}
		if err == nil {
			err = syncDir(s.dir)
		}
		if err != nil {
			f.Close()
			os.Remove(sp.path)
			return nil, err
		}
	} else {
		var err error
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, fileMode)
		if err != nil {
			return nil, err
		}
		fill = max(min(s.opts.ZeroFill, firstFill), fileHeader)
		if _, err = f.Write(fileHead(segMagic, first)); err == nil {
			for off := int64(fileHeader); off < fill && err == nil; {
				n := min(fill-off, int64(len(zeros)))
				_, err = f.WriteAt(zeros[:n], off)
				off += n
			}
		}
		if err == nil {
			err = f.Sync()
		}
		if err == nil {
			err = syncDir(s.dir)
		}
		if err != nil {
			f.Close()
			os.Remove(path)
			return nil, err
		}
	}
	sg := &segment{path: path, first: first, f: f, rw: true, size: fileHeader, wsize: fileHeader, fill: fill}
	s.mu.Lock()
	s.segs = append(s.segs, sg)
	s.mu.Unlock()
	return sg, nil
}
