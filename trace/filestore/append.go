package filestore

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/pecsdk/pec/trace"
)

// request is one Append call waiting for the committer.
type request struct {
	recs []*trace.Record // shallow copies, chained by the committer
	keys []*keys         // their index keys
	err  error
	done chan struct{}
}

// flight is a batch encoded, waiting to be written and fsync'd.
type flight struct {
	reqs   []*request
	out    []written
	chunks []chunk // what to write, in order
}

// chunk is bytes to write at off in sg.
type chunk struct {
	sg  *segment
	off int64
	b   []byte
}

// maxBatch bounds how many Append calls share one write.
const maxBatch = 4096

// maxSpins bounds how many times the syncer yields, waiting for Appends on
// their way, before an fsync.
const maxSpins = 64

// Append adds recs at the end of the log and returns once they are on disk
// (see trace.Store). Concurrent calls are committed together, with one
// fsync. A record that fails Validate or is over Options.MaxRecordSize
// fails the call, and nothing of it is written. ctx is honoured until the
// call is queued; after that it waits for the outcome, which is durable.
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
	req := &request{recs: make([]*trace.Record, len(recs)), done: make(chan struct{})}
	for i, r := range recs {
		if r == nil {
			return fmt.Errorf("filestore: record %d of %d: %w", i+1, len(recs), &trace.FieldError{Field: "Record", Reason: "nil"})
		}
		if err := r.Validate(); err != nil {
			return fmt.Errorf("filestore: record %d of %d: %w", i+1, len(recs), err)
		}
		c := *r
		if len(c.Message) > 0 && c.MessageHash.IsZero() {
			c.MessageHash = sha256.Sum256(c.Message) // here, in parallel, not in the committer
		}
		if len(c.Message) > s.opts.MaxRecordSize {
			return fmt.Errorf("filestore: record %d of %d: message of %d bytes, over the limit of %d: %w", i+1, len(recs), len(c.Message), s.opts.MaxRecordSize, trace.ErrTooLarge)
		}
		req.recs[i] = &c
		req.keys = append(req.keys, s.idx.keysOf(&c))
	}
	s.qmu.RLock()
	if s.qclosed {
		s.qmu.RUnlock()
		return trace.ErrClosed
	}
	s.pending.Add(1)
	select {
	case s.reqs <- req:
	case <-ctx.Done():
		s.pending.Add(-1)
		s.qmu.RUnlock()
		return ctx.Err()
	}
	s.qmu.RUnlock()
	<-req.done
	if req.err != nil {
		return req.err
	}
	for i, r := range recs {
		c := req.recs[i]
		r.Seq, r.Prev, r.MessageHash, r.Hash = c.Seq, c.Prev, c.MessageHash, c.Hash
	}
	return nil
}

// commitLoop is the committer: it takes every Append queued, chains and
// encodes them, and hands the batch to the syncer. While one fsync runs,
// the next batches are encoded; the syncer writes them all with one write
// and covers them with its next fsync (group commit).
func (s *Store) commitLoop() {
	defer close(s.flights)
	batch := make([]*request, 0, 64)
	for req := range s.reqs {
		batch = append(batch[:0], req)
	drain:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		s.write(append([]*request(nil), batch...))
		clear(batch)
	}
}

// syncLoop is the syncer: it writes every batch encoded so far, fsyncs the
// segments they touched, then publishes the batches to the read view and
// releases their callers.
func (s *Store) syncLoop() {
	defer close(s.released)
	var fl []*flight
	for f := range s.flights {
		fl = append(fl[:0], f)
		// Before the fsync, yield while Appends already made are still on
		// their way (queued, or being encoded): the callers the last fsync
		// released get to queue again and the committer to encode them, so
		// that this fsync covers them too. Bounded, so that a steady stream
		// cannot hold an fsync back.
		inHand := 0
		for _, f := range fl {
			inHand += len(f.reqs)
		}
		for spins := 0; spins < maxSpins; spins++ {
			before := inHand
		drain:
			for {
				select {
				case f, ok := <-s.flights:
					if !ok {
						break drain
					}
					fl = append(fl, f)
					inHand += len(f.reqs)
				default:
					break drain
				}
			}
			if inHand >= maxBatch || spins > 0 && inHand == before && int64(inHand) >= s.pending.Load() {
				break // nothing came since the last yield, and nothing is on its way
			}
			runtime.Gosched()
		}
		err := s.failure()
		var synced []*segment
		if err == nil {
			err = s.flush(fl, &synced)
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
		}
		s.released <- released{append([]*flight(nil), fl...), err}
		clear(fl)
	}
}

// released is what the syncer made durable (or failed to).
type released struct {
	fl  []*flight
	err error
}

// releaseLoop publishes what the syncer made durable to the read view and
// releases the callers, while the syncer goes on to the next fsync.
func (s *Store) releaseLoop() {
	defer close(s.done)
	for rel := range s.released {
		if rel.err == nil {
			s.mu.Lock()
			for _, f := range rel.fl {
				for _, w := range f.out {
					s.publish(w.r, w.keys, w.loc)
				}
			}
			s.mu.Unlock()
		}
		for _, f := range rel.fl {
			for _, r := range f.reqs {
				if r.err == nil {
					r.err = rel.err
				}
				s.pending.Add(-1)
				close(r.done)
			}
			s.inflight.Done()
		}
	}
}

// flush writes the chunks of the flights, those that follow each other in
// one segment with one write, and lists the segments written.
func (s *Store) flush(fl []*flight, synced *[]*segment) error {
	var run []byte
	var runSeg *segment
	var runOff int64
	put := func() error {
		if runSeg == nil || len(run) == 0 {
			return nil
		}
		if _, err := runSeg.f.WriteAt(run, runOff); err != nil {
			return s.fail(err)
		}
		s.mu.Lock()
		runSeg.size = runOff + int64(len(run))
		s.mu.Unlock()
		if !containsSeg(*synced, runSeg) {
			*synced = append(*synced, runSeg)
		}
		return nil
	}
	for _, f := range fl {
		for _, c := range f.chunks {
			if c.sg == runSeg && c.off == runOff+int64(len(run)) {
				run = append(run, c.b...)
				continue
			}
			if err := put(); err != nil {
				return err
			}
			runSeg, runOff = c.sg, c.off
			if len(fl) == 1 && len(f.chunks) == 1 {
				run = c.b // alone: no copy
			} else {
				run = append(s.wbuf[:0], c.b...)
			}
		}
	}
	err := put()
	if len(fl) > 1 && cap(run) <= 4<<20 {
		s.wbuf = run[:0]
	}
	return err
}

func containsSeg(l []*segment, sg *segment) bool {
	for _, x := range l {
		if x == sg {
			return true
		}
	}
	return false
}

// written is a record of the batch and where it went.
type written struct {
	r    *trace.Record
	keys *keys
	loc  loc
}

// write chains and encodes one batch and hands it to the syncer. A
// request whose record is over the size limit fails alone; a write error
// fails the whole batch and every later write (the tail on disk is then
// repaired by the next Open).
func (s *Store) write(batch []*request) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	fl := &flight{reqs: batch}
	defer func() { // before wmu is released: Cut waits for it
		s.inflight.Add(1)
		s.flights <- fl
	}()
	if err := s.failure(); err != nil {
		for _, r := range batch {
			r.err = err
		}
		return
	}
	fail := func(err error) {
		err = s.fail(err)
		for _, r := range batch {
			if r.err == nil {
				r.err = err
			}
		}
		fl.out = nil
	}
	seq, prev := s.whead, s.whash
	sg := s.active()
	est := 0
	for _, req := range batch {
		for _, r := range req.recs {
			est += frameHeader + 512 + len(r.Message) + len(r.Subject) + 64*len(r.Recipients)
		}
	}
	buf := make([]byte, 0, min(est, 16<<20)) // the flight's own: the syncer writes it later
	base := int64(0)                         // size of sg once what is before buf is written
	if sg != nil {
		base = sg.wsize
	}
	for _, req := range batch {
		start, startOut := len(buf), len(fl.out)
		seq0, prev0 := seq, prev
		for i, r := range req.recs {
			r.Chain(seq+1, prev)
			p, _ := r.MarshalBinary()
			if len(p) > s.opts.MaxRecordSize {
				req.err = fmt.Errorf("filestore: record %d of %d: %d bytes encoded, over the limit of %d: %w", i+1, len(req.recs), len(p), s.opts.MaxRecordSize, trace.ErrTooLarge)
				break
			}
			var flags byte
			if i == len(req.recs)-1 {
				flags = flagCommit
			}
			fl.out = append(fl.out, written{r, req.keys[i], loc{base + int64(len(buf)), uint32(len(p))}})
			buf = appendFrame(buf, flags, p)
			seq, prev = r.Seq, r.Hash
		}
		if req.err != nil {
			buf, fl.out = buf[:start], fl.out[:startOut]
			seq, prev = seq0, prev0
			continue
		}
		if end := base + int64(len(buf)); sg != nil && end <= s.opts.SegmentSize && (end <= sg.fill || !s.spareReady()) {
			continue // it fits, in the zero-filled part or while the next file is not ready
		}
		if sg != nil && base+int64(start) == fileHeader {
			continue // alone in a fresh segment: too big to share one
		}
		// Roll: what came before this call goes to the current segment,
		// this call starts a new one. A segment is only created once the
		// one before it is whole on disk, so that the segments on disk
		// never leave a gap: the batches in flight are fsync'd first, and
		// the rest of the current segment is written and fsync'd here.
		if sg != nil {
			s.inflight.Wait()
			if start > 0 {
				if _, err := sg.f.WriteAt(buf[:start], base); err != nil {
					fail(err)
					return
				}
			}
			if err := datasync(sg.f); err != nil {
				fail(err)
				return
			}
			s.mu.Lock()
			sg.size = base + int64(start)
			s.mu.Unlock()
			sg.wsize = sg.size
		}
		nsg, err := s.newSegment(seq0 + 1)
		if err != nil {
			fail(err)
			return
		}
		rest := buf[start:]
		delta := int64(fileHeader) - (base + int64(start))
		for i := startOut; i < len(fl.out); i++ {
			fl.out[i].loc.off += delta
		}
		buf = append(buf[:0], rest...)
		sg, base = nsg, fileHeader
	}
	if len(buf) > 0 {
		fl.chunks = append(fl.chunks, chunk{sg, base, buf})
		sg.wsize = base + int64(len(buf))
	}
	s.whead, s.whash = seq, prev
	if sg != nil && sg.wsize >= sg.fill/2 {
		s.wantSpare(sg) // half full: the next file is made meanwhile
	}
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
