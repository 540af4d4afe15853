//go:build !unix

package spool

import (
	"errors"
	"os"
)

// lockDir would take the exclusive lock of a spool directory; only Unix
// systems are supported.
func lockDir(path string) (*os.File, error) {
	return nil, errors.New("spool: a directory spool needs a Unix system (flock, hard links)")
}
