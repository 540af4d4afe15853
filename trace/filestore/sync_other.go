//go:build !linux

package filestore

import "os"

// datasync makes the data written to f durable (fsync).
func datasync(f *os.File) error { return f.Sync() }
