package filestore

import (
	"os"
	"path/filepath"
)

// syncDir fsyncs a directory, making the creation, renaming and removal of
// its entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

const tmpSuffix = ".tmp"

// The log holds personal data (addresses, subjects, whole receipts): it is
// readable by its owner and group only (less with a stricter umask).
const (
	fileMode = 0o640
	dirMode  = 0o750
)

// writeAtomic replaces the file at path by data: a temporary file beside
// it, fsync'd, renamed over path, and the directory fsync'd. A crash leaves
// either the old file or the new one, and at worst a temporary file that
// Open removes.
func writeAtomic(path string, data []byte) error {
	tmp := path + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return err
	}
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}
