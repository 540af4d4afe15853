package spool

import (
	"os"
	"sync"
)

// dirSyncer fsyncs a directory on behalf of concurrent callers, once for
// all those waiting (group commit): each call returns after an fsync that
// started after the call did, so that every change the caller made to
// the directory before calling is durable. After a failed fsync it fails
// every call: what the directory holds on disk is then unknown.
type dirSyncer struct {
	f        *os.File
	mu       sync.Mutex
	cond     *sync.Cond
	started  uint64 // fsyncs started
	finished uint64 // fsyncs finished
	running  bool
	err      error
}

func newDirSyncer(dir string) (*dirSyncer, error) {
	f, err := openFile(dir, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	s := &dirSyncer{f: f}
	s.cond = sync.NewCond(&s.mu)
	return s, nil
}

func (s *dirSyncer) sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	target := s.started + 1
	for s.finished < target && s.err == nil {
		if s.running {
			s.cond.Wait()
			continue
		}
		s.started++
		s.running = true
		s.mu.Unlock()
		err := s.f.Sync()
		s.mu.Lock()
		s.running = false
		s.finished = s.started
		if err != nil && s.err == nil {
			s.err = err
		}
		s.cond.Broadcast()
	}
	return s.err
}

func (s *dirSyncer) close() error { return s.f.Close() }
