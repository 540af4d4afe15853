package mailbox

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// writeUIDList replaces the folder's dovecot-uidlist with data the way
// Dovecot does: the lock file dovecot-uidlist.lock is created exclusively,
// written, synced and renamed over dovecot-uidlist, which releases the lock
// and publishes the new content at once. A lock held by another process is
// waited for, up to LockTimeout; one older than StaleLock is removed.
// While the lock is held, content is given the file as it is now, to merge
// what another process wrote: nil and unchanged true when the file is still
// the one described by last (as written or read by this process), else the
// file read anew (nil when there is none). content returns the new file,
// or, with appendOnly, lines to add to the end of the unchanged file (as
// Dovecot also does; the lock file is then removed, not renamed).
// writeUIDList returns the description of the file it wrote.
func (s *Maildir) writeUIDList(ctx context.Context, dir string, last os.FileInfo, content func(current *uidList, unchanged bool) (data []byte, appendOnly bool)) (os.FileInfo, error) {
	lockPath := filepath.Join(dir, uidListName+".lock")
	deadline := time.Now().Add(s.opts.LockTimeout)
	wait := time.Millisecond
	var lock *os.File
	for {
		var err error
		lock, err = openFile(lockPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, s.opts.FileMode)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if st, serr := os.Stat(lockPath); serr == nil && time.Since(st.ModTime()) > s.opts.StaleLock {
			s.opts.Logger.Warn("mailbox: removing stale lock", "path", lockPath, "age", time.Since(st.ModTime()))
			os.Remove(lockPath)
			continue
		}
		if time.Now().After(deadline) {
			return nil, ErrLocked
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		if wait < 50*time.Millisecond {
			wait *= 2
		}
	}
	ok := false
	defer func() {
		if !ok {
			lock.Close()
			os.Remove(lockPath)
		}
	}()
	var current *uidList
	unchanged := false
	if last != nil {
		st, err := os.Stat(filepath.Join(dir, uidListName))
		unchanged = err == nil && os.SameFile(st, last) && st.Size() == last.Size() && st.ModTime().Equal(last.ModTime())
	}
	if !unchanged {
		var err error
		if current, _, err = readUIDList(dir); err != nil {
			return nil, err
		}
	}
	data, appendOnly := content(current, unchanged)
	if appendOnly && unchanged {
		st, err := appendFile(filepath.Join(dir, uidListName), data)
		if err != nil {
			return nil, err
		}
		lock.Close()
		if err := os.Remove(lockPath); err != nil {
			return nil, err
		}
		ok = true
		return st, nil
	}
	if _, err := lock.Write(data); err != nil {
		return nil, err
	}
	if err := lock.Sync(); err != nil {
		return nil, err
	}
	st, err := lock.Stat()
	if err != nil {
		return nil, err
	}
	if err := lock.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(lockPath, filepath.Join(dir, uidListName)); err != nil {
		return nil, err
	}
	ok = true
	return st, syncDir(dir)
}

// appendFile adds data to the end of the file at path and syncs it.
func appendFile(path string, data []byte) (os.FileInfo, error) {
	f, err := openFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return st, f.Close()
}

// readUIDList reads the folder's dovecot-uidlist and describes the file
// read; it returns a nil list when there is none or when its header cannot
// be read.
func readUIDList(dir string) (*uidList, os.FileInfo, error) {
	f, err := openFile(filepath.Join(dir, uidListName), os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	l, err := parseUIDList(f)
	if errors.Is(err, errUIDListHeader) {
		return nil, st, nil
	}
	return l, st, err
}
