//go:build !unix

package filestore

import (
	"errors"
	"os"
)

// lockFile would take the exclusive write lock of the store; only Unix
// systems are supported for writing.
func lockFile(path string) (*os.File, error) {
	return nil, errors.New("filestore: locking is only supported on Unix systems; open read-only")
}
