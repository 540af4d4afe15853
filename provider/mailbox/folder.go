package mailbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"
)

// entry is one message file of a folder.
type entry struct {
	uid  uint32
	sub  string // "new" or "cur"
	file string // file name in sub
	name maildirName
	size int64
	date time.Time
}

func (e *entry) path(dir string) string { return filepath.Join(dir, e.sub, e.file) }

func (e *entry) message() Message {
	return Message{UID: e.uid, Size: e.size, Flags: e.name.flags, InternalDate: e.date}
}

// folder is the cached state of one Maildir folder. The files are the
// truth: the cache is checked against the directories' modification times
// and read again when they change.
type folder struct {
	box  *maildirBox
	name string
	dir  string

	mu       sync.Mutex
	loaded   bool
	validity uint32
	next     uint32
	guid     string
	msgs     []*entry // in UID order
	byBase   map[string]*entry
	size     int64
	listInfo os.FileInfo // dovecot-uidlist as last written or read
	lines    int         // its records, stale ones included
	// carried are UIDs read from dovecot-uidlist for files not seen yet
	// (given by another process): kept, and written back, until a scan
	// that began after they were read finds the file, or does not.
	carried  map[string]carriedUID
	notify   chan struct{} // closed at the next change; nil until asked for
	dirTimes [2]time.Time  // new/ and cur/ at the last scan
	scanned  time.Time     // when the last scan started
}

// carriedUID is a UID from dovecot-uidlist whose file is not cached.
type carriedUID struct {
	uid uint32
	at  time.Time // when it was read
}

// found is a file seen in a scan that the cache does not know.
type found struct {
	base string
	sub  string
	file string
	size int64
	date time.Time
}

// sync brings the cache up to date with the directories, giving UIDs to
// files it has not seen. Call with f.mu held.
func (f *folder) sync(ctx context.Context) error {
	var times [2]time.Time
	for i, sub := range [2]string{"new", "cur"} {
		st, err := os.Stat(filepath.Join(f.dir, sub))
		if err != nil {
			return err
		}
		times[i] = st.ModTime()
	}
	latest := times[0]
	if times[1].After(latest) {
		latest = times[1]
	}
	// A directory changed in the same clock tick as the last scan may
	// have changed after it: trust the times only a second later.
	if f.loaded && times == f.dirTimes && f.scanned.Sub(latest) > time.Second {
		return nil
	}
	start := time.Now()
	if !f.loaded {
		f.cleanTmp()
		l, info, err := readUIDList(f.dir)
		if err != nil {
			return err
		}
		if l != nil {
			f.validity, f.next, f.guid, f.listInfo = l.validity, l.next, l.guid, info
			f.lines = len(l.uids)
			f.carry(l.uids, start.Add(-time.Nanosecond))
		}
	}
	seen := make(map[string][2]string)
	for _, sub := range [2]string{"new", "cur"} {
		des, err := os.ReadDir(filepath.Join(f.dir, sub))
		if err != nil {
			return err
		}
		for _, de := range des {
			n := de.Name()
			if n[0] == '.' || de.IsDir() {
				continue
			}
			seen[parseName(n).base] = [2]string{sub, n}
		}
	}
	kept := f.msgs[:0]
	for _, e := range f.msgs {
		s, ok := seen[e.name.base]
		if !ok {
			delete(f.byBase, e.name.base)
			f.size -= e.size
			f.changed()
			continue
		}
		delete(seen, e.name.base)
		if s[1] != e.file {
			f.changed()
			n := parseName(s[1])
			e.sub, e.file, e.name.flags, e.name.other = s[0], s[1], n.flags, n.other
		}
		kept = append(kept, e)
	}
	for i := len(kept); i < len(f.msgs); i++ {
		f.msgs[i] = nil
	}
	f.msgs = kept
	var fresh []found
	var taken map[uint32]bool // UIDs cached, while carried ones are added
	if len(f.carried) > 0 && len(seen) > 0 {
		taken = make(map[uint32]bool, len(f.msgs))
		for _, e := range f.msgs {
			taken[e.uid] = true
		}
	}
	added := false
	for base, s := range seen {
		st, err := os.Stat(filepath.Join(f.dir, s[0], s[1]))
		if err != nil {
			continue // moved or removed meanwhile: the next scan sees it
		}
		size := parseName(s[1]).size
		if size < 0 {
			size = st.Size()
		}
		fd := found{base: base, sub: s[0], file: s[1], size: size, date: st.ModTime()}
		if c, ok := f.carried[base]; ok {
			delete(f.carried, base)
			if !taken[c.uid] {
				taken[c.uid] = true
				f.add(fd, c.uid)
				added = true
				continue
			}
		}
		fresh = append(fresh, fd)
	}
	for base, c := range f.carried {
		if c.at.Before(start) {
			delete(f.carried, base) // its file is gone
		}
	}
	if added {
		sort.Slice(f.msgs, func(i, j int) bool { return f.msgs[i].uid < f.msgs[j].uid })
		f.changed()
	}
	if len(fresh) > 0 || f.validity == 0 {
		if _, err := f.assign(ctx, fresh); err != nil {
			if errors.Is(err, errRenumbered) {
				return f.sync(ctx) // read the new numbering from the start
			}
			return err
		}
	}
	f.loaded = true
	f.dirTimes = times
	f.scanned = start
	return nil
}

// changed wakes those waiting for a change. Call with f.mu held.
func (f *folder) changed() {
	if f.notify != nil {
		close(f.notify)
		f.notify = nil
	}
}

// staleTmp is the age past which a file in tmp/ is a delivery that died
// (the Maildir specification's 36 hours).
const staleTmp = 36 * time.Hour

// cleanTmp removes what deliveries that died left in tmp/.
func (f *folder) cleanTmp() {
	tmp := filepath.Join(f.dir, "tmp")
	des, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	now := f.box.store.opts.Now()
	for _, de := range des {
		info, err := de.Info()
		if err != nil || !info.Mode().IsRegular() || now.Sub(info.ModTime()) < staleTmp {
			continue
		}
		if os.Remove(filepath.Join(tmp, de.Name())) == nil {
			f.box.store.opts.Logger.Info("mailbox: removed a stale file from tmp/", "user", f.box.user, "folder", f.name, "file", de.Name())
		}
	}
}

// carry keeps UIDs read from dovecot-uidlist for files not cached.
func (f *folder) carry(uids map[string]uint32, at time.Time) {
	for base, uid := range uids {
		if _, ok := f.byBase[base]; ok {
			continue
		}
		if f.carried == nil {
			f.carried = make(map[string]carriedUID)
		}
		f.carried[base] = carriedUID{uid, at}
		if uid >= f.next {
			f.next = uid + 1
		}
	}
}

// find returns the index of the message with uid. Call with f.mu held.
func (f *folder) find(uid uint32) (int, bool) {
	i := sort.Search(len(f.msgs), func(i int) bool { return f.msgs[i].uid >= uid })
	return i, i < len(f.msgs) && f.msgs[i].uid == uid
}

// add caches a message; callers keep f.msgs in UID order.
func (f *folder) add(fd found, uid uint32) *entry {
	e := &entry{uid: uid, sub: fd.sub, file: fd.file, name: parseName(fd.file), size: fd.size, date: fd.date}
	f.msgs = append(f.msgs, e)
	f.byBase[fd.base] = e
	f.size += fd.size
	if uid >= f.next {
		f.next = uid + 1
	}
	return e
}

// assign gives UIDs to fresh files and writes the dovecot-uidlist, merging
// the UIDs another process (Dovecot) gave meanwhile. It returns the entries
// added, in the order of fresh. Call with f.mu held.
func (f *folder) assign(ctx context.Context, fresh []found) ([]*entry, error) {
	sort.Slice(fresh, func(i, j int) bool { return fresh[i].base < fresh[j].base })
	var (
		validity, next uint32
		guid           string
		uids           []uint32
		reset          bool
		other          map[string]uint32 // the file as another process left it
		readAt         time.Time
	)
	s := f.box.store
	var lines int
	info, err := s.writeUIDList(ctx, f.dir, f.listInfo, func(cur *uidList, unchanged bool) ([]byte, bool) {
		validity, next, guid = f.validity, f.next, f.guid
		other = nil
		if !unchanged && cur != nil {
			readAt = time.Now()
			if validity != 0 && cur.validity != validity {
				reset = true // renumbered by another process
			}
			validity, guid, other = cur.validity, cur.guid, cur.uids
			if cur.next > next || reset {
				next = cur.next
			}
		}
		if validity == 0 {
			validity = uint32(s.opts.Now().Unix())
			if validity == 0 {
				validity = 1
			}
		}
		if next == 0 {
			next = 1
		}
		if guid == "" {
			var g [16]byte
			rand.Read(g[:])
			guid = hex.EncodeToString(g[:])
		}
		// New UIDs are all above the file's: while the file is ours and
		// not mostly stale, add their lines instead of rewriting it.
		if unchanged && f.listInfo != nil && f.lines+len(fresh) <= 2*(len(f.msgs)+len(fresh))+64 {
			lines = f.lines + len(fresh)
			uids = uids[:0]
			var b []byte
			for _, fd := range fresh {
				uids = append(uids, next)
				b = strconv.AppendUint(b, uint64(next), 10)
				b = append(b, " :"...)
				b = append(b, fd.base...)
				b = append(b, '\n')
				next++
			}
			return b, true
		}
		out := &uidList{validity: validity, guid: guid, uids: make(map[string]uint32, len(f.msgs)+len(fresh))}
		taken := make(map[uint32]bool, len(f.msgs)+len(fresh))
		if !reset {
			for _, e := range f.msgs {
				out.uids[e.name.base] = e.uid
				taken[e.uid] = true
			}
			for base, c := range f.carried {
				out.uids[base] = c.uid
				taken[c.uid] = true
			}
		}
		// UIDs another process gave to files not seen yet are kept.
		isFresh := make(map[string]bool, len(fresh))
		for _, fd := range fresh {
			isFresh[fd.base] = true
		}
		for base, uid := range other {
			if _, mine := f.byBase[base]; mine || isFresh[base] || taken[uid] {
				continue
			}
			out.uids[base] = uid
			taken[uid] = true
			if uid >= next {
				next = uid + 1
			}
		}
		uids = uids[:0]
		for _, fd := range fresh {
			uid, ok := other[fd.base]
			if !ok || taken[uid] {
				uid = next
				next++
			}
			taken[uid] = true
			if uid >= next {
				next = uid + 1
			}
			out.uids[fd.base] = uid
			uids = append(uids, uid)
		}
		out.next = next
		lines = len(out.uids)
		return out.marshal(), false
	})
	if err != nil {
		return nil, &Error{Op: "assign uids", User: f.box.user, Folder: f.name, Err: err}
	}
	if reset {
		s.opts.Logger.Warn("mailbox: UIDVALIDITY changed on disk", "user", f.box.user, "folder", f.name, "old", f.validity, "new", validity)
		f.msgs, f.byBase, f.size, f.loaded = nil, make(map[string]*entry), 0, false
		f.carried = nil
		f.validity, f.next, f.listInfo = 0, 0, nil
		return nil, errRenumbered
	}
	f.validity, f.next, f.guid, f.listInfo, f.lines = validity, next, guid, info, lines
	if other != nil {
		isFresh := make(map[string]bool, len(fresh))
		for _, fd := range fresh {
			isFresh[fd.base] = true
		}
		keep := make(map[string]uint32)
		for base, uid := range other {
			if !isFresh[base] {
				keep[base] = uid
			}
		}
		f.carry(keep, readAt)
	}
	if len(fresh) > 0 {
		f.changed()
	}
	added := make([]*entry, len(fresh))
	sorted := true
	for i, fd := range fresh {
		if n := len(f.msgs); n > 0 && f.msgs[n-1].uid > uids[i] {
			sorted = false
		}
		added[i] = f.add(fd, uids[i])
	}
	if !sorted {
		sort.Slice(f.msgs, func(i, j int) bool { return f.msgs[i].uid < f.msgs[j].uid })
	}
	return added, nil
}

// lookup returns the cached message with uid, bringing the cache up to
// date first if it does not hold it. A cached entry may name a file that
// another process renamed since: callers that find it missing call rescan
// and lookup again. Call with f.mu held.
func (f *folder) lookup(ctx context.Context, uid uint32) (*entry, error) {
	if i, ok := f.find(uid); ok && f.loaded {
		return f.msgs[i], nil
	}
	if err := f.sync(ctx); err != nil {
		return nil, err
	}
	i, ok := f.find(uid)
	if !ok {
		return nil, ErrNoMessage
	}
	return f.msgs[i], nil
}

// rescan reads the directories again, whatever their times say. Call
// with f.mu held.
func (f *folder) rescan(ctx context.Context) error {
	f.dirTimes = [2]time.Time{}
	return f.sync(ctx)
}

// errRenumbered is returned by assign when another process gave the
// folder a new UIDVALIDITY: the cache is dropped and read again.
var errRenumbered = errors.New("mailbox: UIDVALIDITY changed on disk")

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
