package filestore

import (
	"os"
	"path/filepath"
)

// spareName is the file the next segment is prepared in: a temporary file,
// removed by Open when a crash left it.
const spareName = "next-segment" + tmpSuffix

// firstFill is the zero-filled size of the first segment a store makes
// (unless ZeroFill or SegmentSize is smaller); each next one is four times
// the one before, up to ZeroFill.
const firstFill = 1 << 20

// spareFile is a file filled with zeros and fsync'd, ready to become the
// next segment.
type spareFile struct {
	f    *os.File
	path string
	size int64
}

// prepLoop makes the spare files the Appends ask for, one at a time:
// zeros written (not only allocated: the blocks of an unwritten extent
// still change on their first write) and fsync'd, in a file of its own so
// that the fdatasync of the active segment never waits for them.
func (s *Store) prepLoop() {
	defer close(s.prepDone)
	for size := range s.prepReq {
		sp, err := s.prepare(size)
		s.pmu.Lock()
		s.preparing = false
		if err == nil {
			s.spare = sp
		}
		s.pmu.Unlock()
		if err != nil && !s.prepStop.Load() {
			// Not fatal: segments are then made as they are needed.
			s.log.Warn("filestore: cannot prepare the next segment", "err", err)
		}
	}
}

var errStopped = os.ErrClosed

// prepare makes one spare file of size bytes of zeros.
func (s *Store) prepare(size int64) (*spareFile, error) {
	path := filepath.Join(s.dir, spareName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return nil, err
	}
	for off := int64(0); off < size && err == nil; {
		if s.prepStop.Load() {
			err = errStopped
			break
		}
		n := min(size-off, int64(len(zeros)))
		_, err = f.WriteAt(zeros[:n], off)
		off += n
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return &spareFile{f: f, path: path, size: size}, nil
}

// wantSpare asks for the file of the segment after active, unless one is
// ready or being made. The caller holds wmu.
func (s *Store) wantSpare(active *segment) {
	if s.opts.ZeroFill <= 0 || s.prepReq == nil {
		return
	}
	size := min(s.opts.ZeroFill, max(firstFill, 4*active.fill))
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if s.spare != nil || s.preparing {
		return
	}
	s.preparing = true
	s.prepReq <- size // room for one: only one is ever asked for at a time
}

// spareReady reports whether a spare file is ready.
func (s *Store) spareReady() bool {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	return s.spare != nil
}

// takeSpare returns the spare file, or nil when none is ready.
func (s *Store) takeSpare() *spareFile {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	sp := s.spare
	s.spare = nil
	return sp
}

// stopPrep stops prepLoop, once the syncer has stopped, and removes the
// spare file, made or half made.
func (s *Store) stopPrep() {
	if s.prepReq == nil {
		return
	}
	s.prepStop.Store(true)
	close(s.prepReq)
	<-s.prepDone
	if sp := s.takeSpare(); sp != nil {
		sp.f.Close()
		os.Remove(sp.path)
	}
	s.prepReq = nil
}
