package filestore

import (
	"os"
	"syscall"
)

// datasync makes the data written to f durable, with the metadata needed
// to read it back (fdatasync): an overwrite inside a segment filled with
// zeros beforehand changes neither its size nor its blocks, so that no
// journal commit is needed.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}
