package filestore

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pecsdk/pec/trace"
)

// request is one Append call waiting for the committer.
type request struct {
	recs []*trace.Record // shallow copies, chained by the committer
	err  error
	done chan struct{}
}

// maxBatch bounds how many Append calls share one write and one fsync.
const maxBatch = 4096

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
	}
	s.qmu.RLock()
	if s.qclosed {
		s.qmu.RUnlock()
		return trace.ErrClosed
	}
	select {
	case s.reqs <- req:
	case <-ctx.Done():
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

// commitLoop is the committer: it takes every Append queued, writes them
// with one write and one fsync, publishes them and releases their callers.
func (s *Store) commitLoop() {
	defer close(s.done)
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
		s.commit(batch)
		for _, r := range batch {
			close(r.done)
		}
		clear(batch)
	}
}

// written is a record of the batch and where it went.
type written struct {
	r   *trace.Record
	sg  *segment
	loc loc
}

// commit writes one batch. A request whose record is over the size limit
// fails alone; a write or fsync error fails the whole batch and every
// later write (the tail on disk is then repaired by the next Open).
func (s *Store) commit(batch []*request) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.failed != nil {
		for _, r := range batch {
			r.err = s.failed
		}
		return
	}
	var out []written
	fail := func(err error) {
		s.failed = fmt.Errorf("filestore: write failed, the store refuses further writes until reopened: %w", err)
		for _, r := range batch {
			if r.err == nil {
				r.err = s.failed
			}
		}
	}
	seq, prev := s.head, s.headHash
	sg := s.active()
	buf := s.wbuf[:0]
	base := int64(0) // size of sg when buf is written at its end
	if sg != nil {
		base = sg.size
	}
	for _, req := range batch {
		start, startOut := len(buf), len(out)
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
			out = append(out, written{r, sg, loc{base + int64(len(buf)), uint32(len(p))}})
			buf = appendFrame(buf, flags, p)
			seq, prev = r.Seq, r.Hash
		}
		if req.err != nil {
			buf, out = buf[:start], out[:startOut]
			seq, prev = seq0, prev0
			continue
		}
		if sg != nil && base+int64(len(buf)) <= s.opts.SegmentSize {
			continue
		}
		if sg != nil && base+int64(start) == fileHeader {
			continue // alone in a fresh segment: too big to share one
		}
		// Roll: what came before this call goes to the current segment,
		// this call starts a new one.
		if sg != nil && start > 0 {
			if err := s.writeSync(sg, buf[:start]); err != nil {
				fail(err)
				return
			}
		}
		nsg, err := s.newSegment(seq0 + 1)
		if err != nil {
			fail(err)
			return
		}
		rest := buf[start:]
		delta := int64(fileHeader) - (base + int64(start))
		for i := startOut; i < len(out); i++ {
			out[i].sg = nsg
			out[i].loc.off += delta
		}
		buf = append(buf[:0], rest...)
		sg, base = nsg, fileHeader
	}
	if len(buf) > 0 {
		if err := s.writeSync(sg, buf); err != nil {
			fail(err)
			return
		}
	}
	if cap(buf) <= 4<<20 {
		s.wbuf = buf[:0]
	}
	if len(out) == 0 {
		return
	}
	s.mu.Lock()
	for _, w := range out {
		s.publish(w.r, w.loc)
	}
	s.mu.Unlock()
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

// writeSync appends b to sg and fsyncs it; the new size is published under
// mu so that Scan sees whole frames only.
func (s *Store) writeSync(sg *segment, b []byte) error {
	if _, err := sg.f.WriteAt(b, sg.size); err != nil {
		return err
	}
	if err := sg.f.Sync(); err != nil {
		return err
	}
	s.mu.Lock()
	sg.size += int64(len(b))
	s.mu.Unlock()
	return nil
}

// newSegment creates the segment starting at first, durably (file and
// directory fsync'd), makes it the active one and reopens the one before
// it read-only.
func (s *Store) newSegment(first uint64) (*segment, error) {
	path := filepath.Join(s.dir, segName(first))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	if _, err = f.Write(fileHead(segMagic, first)); err == nil {
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
	sg := &segment{path: path, first: first, f: f, rw: true, size: fileHeader}
	s.mu.Lock()
	s.segs = append(s.segs, sg)
	s.mu.Unlock()
	return sg, nil
}
