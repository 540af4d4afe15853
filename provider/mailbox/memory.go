package mailbox

import (
	"bytes"
	"context"
	"io"
	"sort"
	"sync"
	"time"
)

// Memory is a Store that keeps every mailbox in memory: the fixture for
// tests of the servers and of the provider.
type Memory struct {
	now    func() time.Time
	mu     sync.Mutex
	boxes  map[string]*memBox
	quotas map[string]int64
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{now: time.Now, boxes: make(map[string]*memBox)}
}

// SetQuota sets the most bytes user's mailbox may hold, Archive aside; 0
// means no limit, the default. It applies to the deliveries that follow.
func (s *Memory) SetQuota(user string, limit int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.quotas == nil {
		s.quotas = make(map[string]int64)
	}
	s.quotas[user] = limit
}

func (s *Memory) quota(user string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.quotas[user]
}

// Mailbox returns user's mailbox, creating it with INBOX and Sent.
func (s *Memory) Mailbox(ctx context.Context, user string) (Mailbox, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !validUser(user) {
		return nil, &Error{Op: "open", User: user, Err: ErrInvalidUser}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.boxes[user]
	if b == nil {
		b = &memBox{store: s, user: user, folders: make(map[string]*memFolder)}
		b.folders[Inbox] = b.newFolder()
		b.folders[Sent] = b.newFolder()
		s.boxes[user] = b
	}
	return b, nil
}

type memBox struct {
	store   *Memory
	user    string
	mu      sync.Mutex
	folders map[string]*memFolder
	serial  uint32
}

type memFolder struct {
	notify   chan struct{} // closed at the next change
	validity uint32
	next     uint32
	msgs     []memMsg
	size     int64
}

type memMsg struct {
	Message
	data []byte
}

func (b *memBox) newFolder() *memFolder {
	b.serial++
	return &memFolder{validity: uint32(b.store.now().Unix()) + b.serial, next: 1}
}

func (f *memFolder) changed() {
	if f.notify != nil {
		close(f.notify)
		f.notify = nil
	}
}

func (b *memBox) Changed(name string) <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.folders[canonFolder(name)]
	if f == nil {
		return nil
	}
	if f.notify == nil {
		f.notify = make(chan struct{})
	}
	return f.notify
}

func (b *memBox) get(op, name string) (*memFolder, error) {
	name = canonFolder(name)
	f := b.folders[name]
	if f == nil {
		return nil, &Error{Op: op, User: b.user, Folder: name, Err: ErrNoFolder}
	}
	return f, nil
}

func (b *memBox) Folders(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var names []string
	for n := range b.folders {
		if n != Inbox {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return append([]string{Inbox}, names...), nil
}

func (b *memBox) CreateFolder(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name = canonFolder(name)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.folders[name] != nil {
		return &Error{Op: "create folder", User: b.user, Folder: name, Err: ErrFolderExists}
	}
	if !validFolder(name) {
		return &Error{Op: "create folder", User: b.user, Folder: name, Err: ErrInvalidFolder}
	}
	b.folders[name] = b.newFolder()
	return nil
}

func (b *memBox) Deliver(ctx context.Context, name string, r io.Reader, flags Flags, date time.Time) (uint32, error) {
	return b.deliver(ctx, name, r, flags, date, false)
}

func (b *memBox) DeliverArchived(ctx context.Context, name string, r io.Reader, flags Flags, date time.Time) (uint32, error) {
	return b.deliver(ctx, name, r, flags, date, true)
}

// used returns the bytes and messages of every folder but Archive. Call
// with b.mu held.
func (b *memBox) used() (bytes, msgs int64) {
	for n, f := range b.folders {
		if n != Archive {
			bytes += f.size
			msgs += int64(len(f.msgs))
		}
	}
	return bytes, msgs
}

func (b *memBox) deliver(ctx context.Context, name string, r io.Reader, flags Flags, date time.Time, archive bool) (uint32, error) {
	name = canonFolder(name)
	fail := func(err error) (uint32, error) {
		return 0, &Error{Op: "deliver", User: b.user, Folder: name, Err: err}
	}
	if name == Archive {
		return fail(ErrReadOnly)
	}
	limit := b.store.quota(b.user)
	src := io.Reader(ctxReader{ctx, r})
	room := int64(-1)
	if limit > 0 {
		b.mu.Lock()
		used, _ := b.used()
		b.mu.Unlock()
		if used >= limit {
			return fail(ErrQuota)
		}
		room = limit - used
		src = io.LimitReader(src, room+1)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(src); err != nil {
		return fail(err)
	}
	if room >= 0 && int64(buf.Len()) > room {
		return fail(ErrQuota)
	}
	if date.IsZero() {
		date = b.store.now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	f, err := b.get("deliver", name)
	if err != nil {
		return 0, err
	}
	if used, _ := b.used(); limit > 0 && used+int64(buf.Len()) > limit {
		return fail(ErrQuota)
	}
	if archive {
		af := b.folders[Archive]
		if af == nil {
			af = b.newFolder()
			b.folders[Archive] = af
		}
		// The same bytes, shared as a hard link shares them.
		m := memMsg{Message: Message{UID: af.next, Size: int64(buf.Len()), Flags: Seen, InternalDate: date}, data: buf.Bytes()}
		af.next++
		af.msgs = append(af.msgs, m)
		af.size += m.Size
		af.changed()
	}
	m := memMsg{Message: Message{UID: f.next, Size: int64(buf.Len()), Flags: flags, InternalDate: date}, data: buf.Bytes()}
	f.next++
	f.msgs = append(f.msgs, m)
	f.size += m.Size
	f.changed()
	return m.UID, nil
}

func (b *memBox) Usage(ctx context.Context) (Usage, error) {
	if err := ctx.Err(); err != nil {
		return Usage{}, err
	}
	limit := b.store.quota(b.user)
	b.mu.Lock()
	defer b.mu.Unlock()
	n, msgs := b.used()
	return Usage{Bytes: n, Messages: msgs, Limit: limit}, nil
}

func (b *memBox) List(ctx context.Context, name string) (*FolderData, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	f, err := b.get("list", name)
	if err != nil {
		return nil, err
	}
	d := &FolderData{Name: canonFolder(name), UIDValidity: f.validity, UIDNext: f.next, Size: f.size, Messages: make([]Message, len(f.msgs))}
	for i, m := range f.msgs {
		d.Messages[i] = m.Message
	}
	return d, nil
}

func (f *memFolder) find(uid uint32) (int, bool) {
	i := sort.Search(len(f.msgs), func(i int) bool { return f.msgs[i].UID >= uid })
	return i, i < len(f.msgs) && f.msgs[i].UID == uid
}

func (b *memBox) Open(ctx context.Context, name string, uid uint32) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	f, err := b.get("open", name)
	if err != nil {
		return nil, err
	}
	i, ok := f.find(uid)
	if !ok {
		return nil, &Error{Op: "open", User: b.user, Folder: canonFolder(name), UID: uid, Err: ErrNoMessage}
	}
	return io.NopCloser(bytes.NewReader(f.msgs[i].data)), nil
}

func (b *memBox) SetFlags(ctx context.Context, name string, uid uint32, flags Flags) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	f, err := b.get("set flags", name)
	if err != nil {
		return err
	}
	if canonFolder(name) == Archive && flags&Deleted != 0 {
		return &Error{Op: "set flags", User: b.user, Folder: Archive, UID: uid, Err: ErrReadOnly}
	}
	i, ok := f.find(uid)
	if !ok {
		return &Error{Op: "set flags", User: b.user, Folder: canonFolder(name), UID: uid, Err: ErrNoMessage}
	}
	f.msgs[i].Flags = flags
	f.changed()
	return nil
}

func (b *memBox) Expunge(ctx context.Context, name string, uids []uint32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	f, err := b.get("expunge", name)
	if err != nil {
		return err
	}
	if canonFolder(name) == Archive {
		return &Error{Op: "expunge", User: b.user, Folder: Archive, Err: ErrReadOnly}
	}
	gone := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		gone[u] = true
	}
	kept := f.msgs[:0]
	for _, m := range f.msgs {
		if gone[m.UID] {
			f.size -= m.Size
			continue
		}
		kept = append(kept, m)
	}
	if len(kept) < len(f.msgs) {
		f.changed()
	}
	clear(f.msgs[len(kept):])
	f.msgs = kept
	return nil
}
