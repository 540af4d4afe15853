package filestore

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pecsdk/pec/trace"
)

// Cut removes every record with Seq <= cp.Seq and the seals they alone
// cover, and stores cp in their place. The checkpoint file is written
// first; then the segment holding the cut point is rewritten under a new
// name without the records cut, the seals log is rewritten, and the files
// cut are removed, each step durable before the next. Open completes a Cut
// a crash interrupted.
func (s *Store) Cut(ctx context.Context, cp *trace.Checkpoint) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	if cp == nil || cp.Seq == 0 {
		return fmt.Errorf("filestore: cut: no checkpoint: %w", trace.ErrSealMismatch)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.settle(); err != nil { // every batch encoded is fsync'd and published
		return err
	}
	s.mu.RLock()
	closed := s.closed
	h, ok := s.hashOf(cp.Seq)
	first, head := s.first, s.head
	segs := append([]*segment(nil), s.segs...)
	var cutOff int64 // offset of record cp.Seq+1 in its segment
	if cp.Seq+1 >= first && cp.Seq < head {
		cutOff = s.locs[cp.Seq+1-first].off
	}
	s.mu.RUnlock()
	switch {
	case closed:
		return trace.ErrClosed
	case !ok || cp.Seq > head:
		return fmt.Errorf("filestore: cut at record %d: no such record: %w", cp.Seq, trace.ErrSealMismatch)
	case h != cp.Head:
		return fmt.Errorf("filestore: cut at record %d: head is not the record's hash: %w", cp.Seq, trace.ErrSealMismatch)
	}
	c := copyCheckpoint(cp)
	fail := func(err error) error {
		return s.fail(fmt.Errorf("filestore: cut failed: %w", err))
	}
	cpFile := appendFrame(fileHead(checkpointMagic, 0), flagCommit, encodeCheckpoint(c))
	if err := writeAtomic(filepath.Join(s.dir, checkpointName), cpFile); err != nil {
		return fail(err)
	}

	var keep, gone []*segment
	var rewritten *segment
	for i, sg := range segs {
		last := head
		if i+1 < len(segs) {
			last = segs[i+1].first - 1
		}
		switch {
		case last <= cp.Seq:
			gone = append(gone, sg)
		case sg.first <= cp.Seq:
			nsg, err := s.rewrite(sg, cp.Seq+1, cutOff, i == len(segs)-1)
			if err != nil {
				return fail(err)
			}
			rewritten = nsg
			gone = append(gone, sg)
		default:
			keep = append(keep, sg)
		}
	}

	var sealsKept []*trace.Seal
	s.mu.RLock()
	for _, sl := range s.seals {
		if sl.Seq > cp.Seq {
			sealsKept = append(sealsKept, sl)
		}
	}
	s.mu.RUnlock()
	if s.sealf != nil {
		b := fileHead(sealMagic, 0)
		for _, sl := range sealsKept {
			b = appendFrame(b, flagCommit, encodeSeal(sl))
		}
		path := filepath.Join(s.dir, sealsName)
		if err := writeAtomic(path, b); err != nil {
			return fail(err)
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return fail(err)
		}
		s.retired = append(s.retired, s.sealf)
		s.sealf, s.sealSize = f, int64(len(b))
	}

	for _, sg := range gone {
		if err := os.Remove(sg.path); err != nil {
			return fail(err)
		}
	}
	if err := syncDir(s.dir); err != nil {
		return fail(err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	k := cp.Seq + 1 - first
	s.locs = append([]loc(nil), s.locs[k:]...)
	s.times = append([]int64(nil), s.times[k:]...)
	if rewritten != nil {
		delta := int64(fileHeader) - cutOff
		end := len(s.locs)
		if len(keep) > 0 {
			end = int(keep[0].first - (cp.Seq + 1))
		}
		for i := 0; i < end; i++ {
			s.locs[i].off += delta
		}
		keep = append([]*segment{rewritten}, keep...)
	}
	for _, sg := range gone {
		s.retired = append(s.retired, sg.f)
	}
	s.segs = keep
	s.first = cp.Seq + 1
	s.cp = c
	s.seals = sealsKept
	return nil
}

// rewrite copies the records of sg from Seq first on (at offset off) into
// a new segment, durably, and returns it.
func (s *Store) rewrite(sg *segment, first uint64, off int64, active bool) (*segment, error) {
	path := filepath.Join(s.dir, segName(first))
	tmp := path + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*segment, error) {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	if _, err := f.Write(fileHead(segMagic, first)); err != nil {
		return fail(err)
	}
	if _, err := io.Copy(f, io.NewSectionReader(sg.f, off, sg.size-off)); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return nil, err
	}
	if !active {
		// Reopen read-only: only the last segment is written to.
		f.Close()
		if f, err = os.Open(path); err != nil {
			return nil, err
		}
	}
	size := fileHeader + sg.size - off
	return &segment{path: path, first: first, f: f, rw: active, size: size, wsize: size, fill: size}, nil
}
