package mailbox

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"time"
)

// ctxReader fails a streamed copy as soon as its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

func (b *maildirBox) Deliver(ctx context.Context, name string, r io.Reader, flags Flags, date time.Time) (uint32, error) {
	f, err := b.folder("deliver", name)
	if err != nil {
		return 0, err
	}
	fail := func(err error) (uint32, error) {
		return 0, &Error{Op: "deliver", User: b.user, Folder: f.name, Err: err}
	}
	now := b.store.opts.Now()
	if date.IsZero() {
		date = now
	}
	tmpBase := newBase(now, 0)
	tmpBase = tmpBase[:len(tmpBase)-len(",S=0")]
	tmpPath := filepath.Join(f.dir, "tmp", tmpBase)
	w, err := os.OpenFile(tmpPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, b.store.opts.FileMode)
	if err != nil {
		return fail(err)
	}
	placed := ""
	defer func() {
		if w != nil {
			w.Close()
		}
		os.Remove(tmpPath)
		if placed != "" {
			os.Remove(placed)
			syncDir(filepath.Dir(placed))
		}
	}()
	size, err := io.Copy(w, ctxReader{ctx, r})
	if err != nil {
		return fail(err)
	}
	if err := w.Sync(); err != nil {
		return fail(err)
	}
	err = w.Close()
	w = nil
	if err != nil {
		return fail(err)
	}
	if err := os.Chtimes(tmpPath, date, date); err != nil {
		return fail(err)
	}
	fd := found{base: tmpBase + ",S=" + itoa(size), size: size, date: date}
	// A message without flags goes to new/ as the Maildir specification
	// asks of a delivery; one with flags (APPEND, Sent) to cur/.
	fd.sub, fd.file = "new", fd.base
	if flags != 0 {
		fd.sub, fd.file = "cur", maildirName{base: fd.base, flags: flags}.String()
	}
	dest := filepath.Join(f.dir, fd.sub, fd.file)
	if err := os.Rename(tmpPath, dest); err != nil {
		return fail(err)
	}
	placed = dest
	if err := syncDir(filepath.Dir(dest)); err != nil {
		return fail(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// The folder need not be read again: the new file's UID is merged
	// with the other processes' in assign, and files they added are found
	// by the next List.
	if !f.loaded {
		if err := f.sync(ctx); err != nil {
			return fail(err)
		}
	}
	if e := f.byBase[fd.base]; e != nil { // found by the first scan
		placed = ""
		return e.uid, nil
	}
	added, err := f.assign(ctx, []found{fd})
	if err != nil {
		return fail(err)
	}
	placed = ""
	return added[0].uid, nil
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

func (b *maildirBox) List(ctx context.Context, name string) (*FolderData, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := b.folder("list", name)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.sync(ctx); err != nil {
		return nil, &Error{Op: "list", User: b.user, Folder: f.name, Err: err}
	}
	d := &FolderData{Name: f.name, UIDValidity: f.validity, UIDNext: f.next, Size: f.size, Messages: make([]Message, len(f.msgs))}
	for i, e := range f.msgs {
		d.Messages[i] = e.message()
	}
	return d, nil
}

func (b *maildirBox) Open(ctx context.Context, name string, uid uint32) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := b.folder("open", name)
	if err != nil {
		return nil, err
	}
	for try := 0; ; try++ {
		f.mu.Lock()
		e, err := f.lookup(ctx, uid)
		var p string
		if err == nil {
			p = e.path(f.dir)
		}
		f.mu.Unlock()
		if err != nil {
			return nil, &Error{Op: "open", User: b.user, Folder: f.name, UID: uid, Err: err}
		}
		r, err := os.Open(p)
		if err == nil {
			return r, nil
		}
		if !isNotExist(err) || try > 0 {
			return nil, &Error{Op: "open", User: b.user, Folder: f.name, UID: uid, Err: err}
		}
		// Renamed by another process (a flag change): read the folder again.
		f.mu.Lock()
		err = f.rescan(ctx)
		f.mu.Unlock()
		if err != nil {
			return nil, &Error{Op: "open", User: b.user, Folder: f.name, UID: uid, Err: err}
		}
	}
}

func (b *maildirBox) SetFlags(ctx context.Context, name string, uid uint32, flags Flags) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := b.folder("set flags", name)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for try := 0; ; try++ {
		e, err := f.lookup(ctx, uid)
		if err != nil {
			return &Error{Op: "set flags", User: b.user, Folder: f.name, UID: uid, Err: err}
		}
		n := e.name
		n.flags = flags
		file := n.String()
		if e.sub == "cur" && file == e.file {
			return nil
		}
		from := e.path(f.dir)
		err = os.Rename(from, filepath.Join(f.dir, "cur", file))
		if err == nil {
			if e.sub != "cur" {
				err = syncDir(filepath.Join(f.dir, e.sub))
			}
			if err == nil {
				err = syncDir(filepath.Join(f.dir, "cur"))
			}
			e.sub, e.file, e.name = "cur", file, n
			f.changed()
			if err != nil {
				return &Error{Op: "set flags", User: b.user, Folder: f.name, UID: uid, Err: err}
			}
			return nil
		}
		if !isNotExist(err) || try > 0 {
			return &Error{Op: "set flags", User: b.user, Folder: f.name, UID: uid, Err: err}
		}
		if err := f.rescan(ctx); err != nil {
			return &Error{Op: "set flags", User: b.user, Folder: f.name, UID: uid, Err: err}
		}
	}
}

func (b *maildirBox) Changed(name string) <-chan struct{} {
	f, err := b.folder("watch", name)
	if err != nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.notify == nil {
		f.notify = make(chan struct{})
	}
	return f.notify
}

func (b *maildirBox) Expunge(ctx context.Context, name string, uids []uint32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := b.folder("expunge", name)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.sync(ctx); err != nil {
		return &Error{Op: "expunge", User: b.user, Folder: f.name, Err: err}
	}
	dirty := map[string]bool{}
	gone := map[uint32]bool{}
	for _, uid := range uids {
		i, ok := f.find(uid)
		if !ok {
			continue
		}
		e := f.msgs[i]
		err := os.Remove(e.path(f.dir))
		if isNotExist(err) {
			// Renamed by another process (a flag change), or removed:
			// read the folder again and remove it under its new name.
			if err = f.rescan(ctx); err == nil {
				if i, ok = f.find(uid); ok {
					e = f.msgs[i]
					err = os.Remove(e.path(f.dir))
				}
			}
			if isNotExist(err) {
				err = nil
			}
		}
		if err != nil {
			return &Error{Op: "expunge", User: b.user, Folder: f.name, UID: uid, Err: err}
		}
		if !ok {
			continue
		}
		dirty[e.sub] = true
		gone[uid] = true
	}
	if len(gone) == 0 {
		return nil
	}
	kept := f.msgs[:0]
	for _, e := range f.msgs {
		if gone[e.uid] {
			delete(f.byBase, e.name.base)
			f.size -= e.size
			continue
		}
		kept = append(kept, e)
	}
	clear(f.msgs[len(kept):])
	f.msgs = kept
	f.changed()
	for sub := range dirty {
		if err := syncDir(filepath.Join(f.dir, sub)); err != nil {
			return &Error{Op: "expunge", User: b.user, Folder: f.name, Err: err}
		}
	}
	return nil
}
