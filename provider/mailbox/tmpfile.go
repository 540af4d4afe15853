package mailbox

import (
	"os"
	"path/filepath"
)

// tmpFile is a delivery being written: a file without a name in tmp/
// (Linux's O_TMPFILE), given its names in the folder (and Archive) once
// it is synced, or, where the system does not allow that, a file named in
// tmp/ and renamed into the folder, as the Maildir specification
// describes. Either way a reader of new/ and cur/ never sees a partial
// message; the nameless file spares creating and removing a name in tmp/,
// and a crash leaves nothing there.
type tmpFile struct {
	f      *os.File // open until discarded
	path   string   // the name in tmp/, "" for a nameless file
	placed bool     // the name in tmp/ is gone: renamed into the folder
}

// createTmp creates the file of a delivery in dir's tmp/, named base
// unless it can have no name.
func createTmp(dir, base string, perm os.FileMode) (*tmpFile, error) {
	if f := openAnon(filepath.Join(dir, "tmp"), perm); f != nil {
		return &tmpFile{f: f}, nil
	}
	path := filepath.Join(dir, "tmp", base)
	f, err := openFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return nil, err
	}
	return &tmpFile{f: f, path: path}, nil
}

// source is a path to read the file, or change its times, by.
func (t *tmpFile) source() string {
	if t.path == "" {
		return anonPath(t.f)
	}
	return t.path
}

// link gives the synced file the further name dest, failing when dest
// exists.
func (t *tmpFile) link(dest string) error {
	if t.path == "" {
		return linkAnon(t.f, dest)
	}
	return os.Link(t.path, dest)
}

// place gives the synced file its name dest in the folder: the last
// name, after which discard only closes it.
func (t *tmpFile) place(dest string) error {
	if t.path == "" {
		return linkAnon(t.f, dest)
	}
	if err := os.Rename(t.path, dest); err != nil {
		return err
	}
	t.placed = true
	return nil
}

// discard closes the file and removes its name in tmp/, if it has one.
func (t *tmpFile) discard() {
	t.f.Close()
	if t.path != "" && !t.placed {
		os.Remove(t.path)
	}
}
