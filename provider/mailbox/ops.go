package mailbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
	return b.deliver(ctx, name, r, flags, date, false)
}

func (b *maildirBox) DeliverArchived(ctx context.Context, name string, r io.Reader, flags Flags, date time.Time) (uint32, error) {
	return b.deliver(ctx, name, r, flags, date, true)
}

// archiveFolder returns the Archive folder, created if missing.
func (b *maildirBox) archiveFolder(ctx context.Context) (*folder, error) {
	if err := b.CreateFolder(ctx, Archive); err != nil && !errors.Is(err, ErrFolderExists) {
		return nil, err
	}
	return b.folder("deliver", Archive)
}

// deliver writes the message in tmp/ (createTmp), synced; checks the
// quota; links it into Archive when archive is set; names it in the folder;
// and gives it its UIDs. The quota is checked before anything is
// written, and again, under b.qmu, just before the message is placed.
func (b *maildirBox) deliver(ctx context.Context, name string, r io.Reader, flags Flags, date time.Time, archive bool) (uint32, error) {
	f, err := b.folder("deliver", name)
	if err != nil {
		return 0, err
	}
	fail := func(err error) (uint32, error) {
		return 0, &Error{Op: "deliver", User: b.user, Folder: f.name, Err: err}
	}
	if f.name == Archive {
		return fail(ErrReadOnly)
	}
	limit, err := b.limit(ctx)
	if err != nil {
		return fail(err)
	}
	src := io.Reader(ctxReader{ctx, r})
	room := int64(-1)
	if limit > 0 {
		b.qmu.Lock()
		q, err := b.reserve(ctx, limit, 1)
		b.qmu.Unlock()
		if err != nil {
			return fail(err)
		}
		room = limit - q.bytes
		// Read one byte more than fits, to know that it does not.
		src = io.LimitReader(src, room+1)
	}
	var af *folder
	if archive {
		if af, err = b.archiveFolder(ctx); err != nil {
			return fail(err)
		}
	}
	now := b.store.opts.Now()
	if date.IsZero() {
		date = now
	}
	tmpBase := newBase(now, 0)
	tmpBase = tmpBase[:len(tmpBase)-len(",S=0")]
	tmp, err := createTmp(f.dir, tmpBase, b.store.opts.FileMode)
	if err != nil {
		return fail(err)
	}
	var placed []string
	var size int64
	counted := false
	defer func() {
		tmp.discard()
		for _, p := range placed {
			os.Remove(p)
			syncDir(filepath.Dir(p))
		}
		if placed != nil && counted {
			b.qmu.Lock()
			b.addUsage(-size, -1) // on error, the next check recomputes
			b.qmu.Unlock()
		}
	}()
	var digest hash.Hash
	if b.store.opts.Once {
		digest = sha256.New()
		src = io.TeeReader(src, digest)
	}
	buf := copyBuffers.Get().(*[]byte)
	size, err = io.CopyBuffer(writerOnly{tmp.f}, src, *buf)
	copyBuffers.Put(buf)
	if err != nil {
		return fail(err)
	}
	if room >= 0 && size > room {
		return fail(ErrQuota)
	}
	if err := tmp.f.Sync(); err != nil {
		return fail(err)
	}
	if err := os.Chtimes(tmp.source(), date, date); err != nil {
		return fail(err)
	}
	fd := found{base: tmpBase + ",S=" + itoa(size), size: size, date: date}
	// A message without flags goes to new/ as the Maildir specification
	// asks of a delivery; one with flags (APPEND, Sent) to cur/.
	fd.sub, fd.file = "new", fd.base
	if flags != 0 {
		fd.sub, fd.file = "cur", maildirName{base: fd.base, flags: flags}.String()
	}
	if digest != nil {
		done, err := b.once(ctx, f, hex.EncodeToString(digest.Sum(nil)[:16]), fd.base)
		if err != nil {
			return fail(err)
		}
		if done {
			return 0, nil // delivered before: the deferred clean-up drops tmp
		}
	}
	var afd found
	if af != nil {
		afd = fd
		afd.sub, afd.file = "cur", maildirName{base: fd.base, flags: Seen}.String()
	}
	if err := b.place(ctx, f, af, tmp, fd, afd, limit, &placed, &counted); err != nil {
		return fail(err)
	}
	// Archive's UID first: if the folder's then fails, both files go.
	if af != nil {
		if _, err := af.given(ctx, afd); err != nil {
			return fail(err)
		}
	}
	uid, err := f.given(ctx, fd)
	if err != nil {
		return fail(err)
	}
	placed = nil
	return uid, nil
}

// copyBuffers are the buffers deliveries are copied through, kept from
// one delivery to the next.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// writerOnly hides an *os.File's ReadFrom, which would copy through a
// buffer of its own.
type writerOnly struct{ io.Writer }

// place links the synced delivery tmp into Archive (af, unless nil) and
// names it in f (tmpFile.place), under the quota lock when there is a limit, adding
// its size to maildirsize (then *counted is set). The paths placed are
// added to *placed, for the caller to remove on error.
func (b *maildirBox) place(ctx context.Context, f, af *folder, tmp *tmpFile, fd, afd found, limit int64, placed *[]string, counted *bool) error {
	if limit > 0 {
		b.qmu.Lock()
		defer b.qmu.Unlock()
		if _, err := b.reserve(ctx, limit, fd.size); err != nil {
			return err
		}
	}
	if af != nil {
		// Archive first: a crash between the two leaves a copy there, and
		// the retried delivery a second one, rather than none.
		adest := filepath.Join(af.dir, afd.sub, afd.file)
		if err := tmp.link(adest); err != nil {
			// A file system without hard links: a copy, which takes
			// the bytes twice on disk (not in the quota).
			if cerr := b.store.copyFile(tmp.source(), adest, afd.date); cerr != nil {
				return errors.Join(err, cerr)
			}
		}
		*placed = append(*placed, adest)
		if err := b.store.syncShared(filepath.Dir(adest)); err != nil {
			return err
		}
	}
	dest := filepath.Join(f.dir, fd.sub, fd.file)
	if err := tmp.place(dest); err != nil {
		return err
	}
	*placed = append(*placed, dest)
	if err := b.store.syncShared(filepath.Dir(dest)); err != nil {
		return err
	}
	if limit <= 0 {
		// Unlimited deliveries do not wait for each other; the line is
		// still added for a Dovecot keeping its own quota.
		b.qmu.Lock()
		defer b.qmu.Unlock()
	}
	if err := b.addUsage(fd.size, 1); err != nil {
		return err
	}
	*counted = true
	return nil
}

// copyFile copies the file at from to the new file to, synced, with the
// modification time date; on error nothing is left at to.
func (s *Maildir) copyFile(from, to string, date time.Time) (err error) {
	r, err := os.Open(from)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, s.opts.FileMode)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Chtimes(to, date, date)
		}
		if err != nil {
			os.Remove(to)
		}
	}()
	if _, err := io.Copy(w, r); err != nil {
		return err
	}
	return w.Sync()
}

// given returns the UID of a file just placed in the folder, giving it
// one. The folder need not be read again: the new file's UID is merged
// with the other processes' in assign, and files they added are found by
// the next List. Concurrent deliveries into one folder share one
// dovecot-uidlist append (and its fsync): the first to take the folder's
// lock assigns the UIDs of every file queued by then.
func (f *folder) given(ctx context.Context, fd found) (uint32, error) {
	q := f.box.store.uidQueue(f)
	req := &uidRequest{fd: fd, done: make(chan struct{})}
	q.mu.Lock()
	q.reqs = append(q.reqs, req)
	q.mu.Unlock()
	f.mu.Lock()
	q.mu.Lock()
	batch := q.reqs
	q.reqs = nil
	q.mu.Unlock()
	if len(batch) > 0 {
		// The batch is others' too: one caller's cancellation does not
		// fail it (the lock wait is bounded by LockTimeout).
		f.giveBatch(context.WithoutCancel(ctx), batch)
	}
	f.mu.Unlock()
	<-req.done
	return req.uid, req.err
}

// uidQueue is the deliveries of one folder waiting for their UIDs.
type uidQueue struct {
	mu   sync.Mutex
	reqs []*uidRequest
}

// uidRequest is one delivery waiting for its UID: uid and err are set
// before done is closed.
type uidRequest struct {
	fd   found
	uid  uint32
	err  error
	done chan struct{}
}

// uidQueue returns the queue of folder f.
func (s *Maildir) uidQueue(f *folder) *uidQueue {
	s.smu.Lock()
	defer s.smu.Unlock()
	if s.queues == nil {
		s.queues = make(map[*folder]*uidQueue)
	}
	q := s.queues[f]
	if q == nil {
		if len(s.queues) >= maxSyncers {
			for x := range s.queues { // each request queued there is answered by its own caller at the latest
				delete(s.queues, x)
				break
			}
		}
		q = &uidQueue{}
		s.queues[f] = q
	}
	return q
}

// giveBatch gives their UIDs to the files of batch, in one assign, and
// answers each request. Call with f.mu held.
func (f *folder) giveBatch(ctx context.Context, batch []*uidRequest) {
	answer := func(err error) {
		for _, r := range batch {
			if err != nil {
				r.err = err
			} else if e := f.byBase[r.fd.base]; e != nil {
				r.uid = e.uid
			} else {
				r.err = fmt.Errorf("mailbox: %s given no UID", r.fd.base)
			}
			close(r.done)
		}
	}
	if !f.loaded {
		if err := f.sync(ctx); err != nil {
			answer(err)
			return
		}
	}
	var fresh []found
	for _, r := range batch {
		if f.byBase[r.fd.base] == nil { // else found by the first scan
			fresh = append(fresh, r.fd)
		}
	}
	if len(fresh) > 0 {
		if _, err := f.assign(ctx, fresh); err != nil {
			answer(err)
			return
		}
	}
	answer(nil)
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
		r, err := openFile(p, os.O_RDONLY, 0)
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
	if f.name == Archive && flags&Deleted != 0 {
		return &Error{Op: "set flags", User: b.user, Folder: f.name, UID: uid, Err: ErrReadOnly}
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
	if f.name == Archive {
		return &Error{Op: "expunge", User: b.user, Folder: f.name, Err: ErrReadOnly}
	}
	// The quota lock is held from the first removal to the line that
	// says it, so that a recount meanwhile cannot count the removal twice.
	b.qmu.Lock()
	defer b.qmu.Unlock()
	var freed, removed int64
	defer func() {
		if removed == 0 {
			return
		}
		if err := b.addUsage(-freed, -removed); err != nil {
			// The messages are gone all the same: the next check
			// recomputes the figure.
			b.store.opts.Logger.Warn("mailbox: maildirsize not updated", "user", b.user, "err", err)
		}
	}()
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
		freed += e.size
		removed++
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

// once looks up the record of a message with this digest in folder f: when
// the message it names is still in new/ or cur/, the delivery is a repeat
// (done). Otherwise it records base for the digest, durably, before the
// message is placed: a crash between the two leaves a record naming no
// file, and the delivery done again. The records are the lines of the
// folder's pec-once/log (see oncelog.go).
func (b *maildirBox) once(ctx context.Context, f *folder, digest, base string) (done bool, err error) {
	dir := filepath.Join(f.dir, onceDir)
	o := b.store.onceOf(f)
	o.mu.Lock()
	if !o.loaded {
		if err := o.load(ctx, b, f, dir); err != nil {
			o.mu.Unlock()
			return false, err
		}
	}
	prev := o.last[digest]
	o.mu.Unlock()
	if prev == "" {
		// A record of an earlier version: a file per digest.
		if b, err := os.ReadFile(filepath.Join(dir, digest)); err == nil && validBase(string(b)) {
			prev = string(b)
		}
	}
	if prev != "" {
		if _, err := os.Stat(filepath.Join(f.dir, "new", prev)); err == nil {
			return true, nil
		}
		entries, _ := os.ReadDir(filepath.Join(f.dir, "cur"))
		for _, e := range entries {
			if n := e.Name(); n == prev || strings.HasPrefix(n, prev+":") {
				return true, nil
			}
		}
	}
	o.mu.Lock()
	err = o.record(digest, base)
	o.mu.Unlock()
	if err != nil {
		return false, err
	}
	return false, o.sync.run()
}
