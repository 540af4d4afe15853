package filestore

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/pecsdk/pec/trace"
)

// load reads the checkpoint, the seals and the segments, repairing a torn
// tail, and builds the indexes.
func (s *Store) load(ctx context.Context) error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var segs []*segment
	for _, e := range ents {
		name := e.Name()
		var first uint64
		switch {
		case filepath.Ext(name) == tmpSuffix:
			if !s.opts.ReadOnly {
				s.log.Info("filestore: removing an unfinished temporary file", "file", name)
				if err := os.Remove(filepath.Join(s.dir, name)); err != nil {
					return err
				}
			}
		case len(name) == len(segName(0)) && scanSegName(name, &first):
			segs = append(segs, &segment{path: filepath.Join(s.dir, name), first: first})
		}
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].first < segs[j].first })
	if err := s.loadCheckpoint(); err != nil {
		return err
	}
	if err := s.loadSeals(); err != nil {
		return err
	}
	var cut uint64
	if s.cp != nil {
		cut = s.cp.Seq
		s.head, s.headHash = s.cp.Seq, s.cp.Head
	}
	s.first = cut + 1
	segs, err = s.finishCut(segs, cut)
	if err != nil {
		return err
	}
	var sealed uint64
	for _, sl := range s.seals {
		sealed = max(sealed, sl.Seq)
	}
	next := s.first
	for i, sg := range segs {
		if err := ctx.Err(); err != nil {
			return err
		}
		last := i == len(segs)-1
		keep, err := s.loadSegment(sg, &next, cut, last, sealed)
		if err != nil {
			return err
		}
		if keep {
			s.segs = append(s.segs, sg)
		}
	}
	if n := len(s.segs); n > 0 && !s.opts.ReadOnly && !s.segs[n-1].rw {
		// The segment after it was removed (torn): this one is appended to.
		sg := s.segs[n-1]
		f, err := os.OpenFile(sg.path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		sg.f.Close()
		sg.f, sg.rw = f, true
	}
	if s.head+1 != next {
		// Only possible when every segment was cut away.
		s.head = next - 1
	}
	return nil
}

func scanSegName(name string, first *uint64) bool {
	var v uint64
	if _, err := fmt.Sscanf(name, segPattern, &v); err != nil {
		return false
	}
	if segName(v) != name {
		return false
	}
	*first = v
	return true
}

// finishCut drops the segments a Cut at seq cut replaced or removed, when a
// crash interrupted it: once the rewritten segment (first seq cut+1) exists,
// every segment before it is gone; before, the segment holding cut+1 is
// still the one to read, skipping what is cut.
func (s *Store) finishCut(segs []*segment, cut uint64) ([]*segment, error) {
	if cut == 0 {
		return segs, nil
	}
	drop := 0
	for i, sg := range segs {
		if sg.first == cut+1 {
			drop = i
			break
		}
		if sg.first <= cut+1 {
			drop = i // segments wholly before the one holding cut+1
		}
	}
	if drop == 0 {
		return segs, nil
	}
	for _, sg := range segs[:drop] {
		if s.opts.ReadOnly {
			continue
		}
		s.log.Info("filestore: removing a segment an interrupted Cut left", "file", sg.path)
		if err := os.Remove(sg.path); err != nil {
			return nil, err
		}
	}
	if !s.opts.ReadOnly {
		if err := syncDir(s.dir); err != nil {
			return nil, err
		}
	}
	return segs[drop:], nil
}

// loadSegment reads one segment, checking that its records are the ones
// expected from *next on, indexing them and advancing *next. The last
// segment's torn tail is cut away (and must not hold a sealed record).
// It reports whether the segment stays in the store.
func (s *Store) loadSegment(sg *segment, next *uint64, cut uint64, last bool, sealed uint64) (bool, error) {
	flag := os.O_RDONLY
	if last && !s.opts.ReadOnly {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(sg.path, flag, 0)
	if err != nil {
		return false, err
	}
	sg.f, sg.rw = f, flag == os.O_RDWR
	fi, err := f.Stat()
	if err != nil {
		return false, s.closeSeg(sg, err)
	}
	sg.size = fi.Size()
	fileSize := sg.size
	var h [fileHeader]byte
	n, _ := f.ReadAt(h[:], 0)
	first, herr := parseFileHead(h[:n], segMagic)
	if herr != nil {
		if last && (n < fileHeader || allZero(h[:])) {
			// Created, but the header never reached the disk.
			return false, s.closeSeg(sg, s.recover(Recovery{File: sg.path, Dropped: sg.size, Reason: "segment header " + herr.Error() + "; segment removed"}, true))
		}
		return false, s.closeSeg(sg, &CorruptError{File: sg.path, Seq: *next, Reason: "segment header: " + herr.Error()})
	}
	if first != sg.first {
		return false, s.closeSeg(sg, &CorruptError{File: sg.path, Seq: *next, Reason: fmt.Sprintf("header names first record %d, file name %d", first, sg.first)})
	}
	if first > *next || (first < *next && first > cut) {
		return false, s.closeSeg(sg, &CorruptError{File: sg.path, Seq: *next, Reason: fmt.Sprintf("segment starts at record %d, want %d", first, *next)})
	}
	fr := newFrameReader(f, fileHeader, sg.size, maxSegmentSize)
	fr.padded = true
	seq := first
	committed, committedSeq := int64(fileHeader), seq // after the last commit flag
	var pending []pendingRec
	tornReason := ""
	end := fileSize // where the frames end
	for {
		off := fr.off
		flags, p, err := fr.next()
		if err == io.EOF {
			end = fr.off // the end of the file, or where its zero padding begins
			break
		}
		if bf, ok := err.(*badFrame); ok {
			if !last || !bf.torn {
				return false, s.closeSeg(sg, &CorruptError{File: sg.path, Offset: bf.off, Seq: seq, Reason: bf.reason})
			}
			tornReason = bf.reason
			break
		}
		if err != nil {
			return false, s.closeSeg(sg, err)
		}
		r := new(trace.Record)
		if err := r.UnmarshalBinary(p); err != nil {
			return false, s.closeSeg(sg, &CorruptError{File: sg.path, Offset: off, Seq: seq, Reason: "record does not decode", Err: err})
		}
		if r.Seq != seq {
			return false, s.closeSeg(sg, &CorruptError{File: sg.path, Offset: off, Seq: seq, Reason: fmt.Sprintf("record carries Seq %d", r.Seq)})
		}
		pending = append(pending, pendingRec{r, loc{off, uint32(len(p))}})
		seq++
		if flags&flagCommit != 0 {
			for _, pr := range pending {
				if pr.r.Seq > cut {
					s.idx.add(s.idx.keysOf(pr.r), pr.r.Seq)
					s.publish(pr.r, pr.loc)
				}
			}
			pending = pending[:0]
			committed, committedSeq = fr.off, seq
		}
	}
	if committed < end {
		if !last {
			return false, s.closeSeg(sg, &CorruptError{File: sg.path, Offset: end, Seq: seq, Reason: fmt.Sprintf("the Append that began with record %d does not end in this segment: record %d missing", committedSeq, seq)})
		}
		reason := fmt.Sprintf("torn tail: %d complete records of an unfinished Append", len(pending))
		if tornReason != "" {
			reason = "torn tail: " + tornReason
		}
		if committedSeq <= sealed {
			return false, s.closeSeg(sg, &CorruptError{File: sg.path, Offset: committed, Seq: committedSeq, Reason: fmt.Sprintf("%s, but record %d is sealed: not a crash", reason, committedSeq)})
		}
		rec := Recovery{File: sg.path, Offset: committed, Dropped: fileSize - committed, Records: len(pending), Reason: reason}
		if len(pending) > 0 || tornReason != "" {
			rec.Seq = committedSeq
		}
		if err := s.recover(rec, false); err != nil {
			return false, s.closeSeg(sg, err)
		}
		if !s.opts.ReadOnly {
			if err := f.Truncate(committed); err != nil {
				return false, s.closeSeg(sg, err)
			}
			if err := f.Sync(); err != nil {
				return false, s.closeSeg(sg, err)
			}
		}
		sg.size, fileSize = committed, committed
	}
	sg.size = committed
	sg.fill = fileSize
	if s.opts.ReadOnly {
		sg.fill = sg.size
	}
	sg.wsize = sg.size
	*next = max(*next, committedSeq)
	if committedSeq <= cut+1 && !last {
		// Every record of it was cut: an interrupted Cut left it.
		if !s.opts.ReadOnly {
			s.log.Info("filestore: removing a segment a Cut emptied", "file", sg.path)
			if err := os.Remove(sg.path); err != nil {
				return false, s.closeSeg(sg, err)
			}
		}
		return false, s.closeSeg(sg, nil)
	}
	return true, nil
}

type pendingRec struct {
	r   *trace.Record
	loc loc
}

func (s *Store) closeSeg(sg *segment, err error) error {
	if sg.f != nil {
		sg.f.Close()
		sg.f = nil
	}
	return err
}

// recover records a repair; remove says the file goes (a torn segment header).
func (s *Store) recover(r Recovery, remove bool) error {
	if s.opts.ReadOnly {
		r.Reason += " (read-only: skipped, not repaired)"
	} else if remove {
		if err := os.Remove(r.File); err != nil {
			return err
		}
		if err := syncDir(s.dir); err != nil {
			return err
		}
	}
	s.recovered = append(s.recovered, r)
	s.log.Warn("filestore: recovered from a crash", "file", r.File, "offset", r.Offset, "dropped", r.Dropped, "seq", r.Seq, "reason", r.Reason)
	return nil
}
