package filestore

import "fmt"

// fail makes the store refuse every later write: after a failed write or
// fsync, what is on disk past the last acknowledged record is unknown
// until the next Open repairs it.
func (s *Store) fail(err error) error {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.failed == nil {
		s.failed = fmt.Errorf("filestore: the store refuses writes until reopened: %w", err)
	}
	return s.failed
}

// failure returns the error that made the store refuse writes, or nil.
func (s *Store) failure() error {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.failed
}
