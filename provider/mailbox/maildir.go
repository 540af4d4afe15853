package mailbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// MaildirOptions configures OpenMaildir. A nil *MaildirOptions, or a zero
// field, means the default.
type MaildirOptions struct {
	// Now is the clock for file names, internal dates and new
	// UIDVALIDITY values. Default time.Now.
	Now func() time.Time
	// LockTimeout bounds the wait for a dovecot-uidlist.lock held by
	// another process (Dovecot on the same folders). Default 10s.
	LockTimeout time.Duration
	// StaleLock is the age past which a lock file is taken to be left by
	// a dead process and removed. Default 2 minutes (Dovecot's default).
	StaleLock time.Duration
	// Logger receives what the store repairs or skips. Default silent.
	Logger *slog.Logger
	// FileMode is the permission of the files the store creates
	// (messages, dovecot-uidlist); directories get it with the search
	// bits of its readers added; the process umask applies. Default 0600:
	// give group bits (0660) when Dovecot serves the same folders as
	// another user of the same group.
	FileMode os.FileMode
	// Quota is the most bytes each mailbox may hold, Archive aside
	// (Deliver refuses more with ErrQuota): 10 GB is 10_000_000_000, and
	// figures up to 2^53 are counted exactly; 0, or less, means no limit.
	// The usage is kept in the mailbox's maildirsize file, Dovecot's
	// Maildir++ quota, so that a Dovecot configured with "quota = maildir"
	// and "quota_rule2 = Archive:ignore" sees the same figure.
	Quota int64
	// UserQuota, when set, gives user's limit in bytes instead of Quota:
	// 0 for no limit, a negative value for Quota. An error fails the
	// delivery (not with ErrQuota).
	UserQuota func(ctx context.Context, user string) (int64, error)
	// Once makes delivery idempotent by content: a message whose bytes
	// equal those of one already delivered into the same folder, and
	// still there, is not stored again (Deliver returns UID 0 and no
	// error). A provider that redoes a deposit after a crash, or receives
	// the same signed receipt twice, so deposits it once. The record of
	// what was delivered is a line per message appended to the folder's
	// pec-once/log, which Dovecot ignores; concurrent deliveries share
	// its fsync.
	Once bool
}

// Maildir is a Store keeping each user's mailbox as a Maildir++ directory
// <root>/<user>. It is safe for concurrent use; use one Maildir per root
// in a process, so that every server shares its locks.
type Maildir struct {
	root  string
	opts  MaildirOptions
	mu    sync.Mutex
	boxes map[string]*maildirBox
	// syncers share the directory fsyncs of concurrent deliveries, one
	// per directory.
	smu     sync.Mutex
	syncers map[string]*groupSync
	// onces are the records of Once, one per folder directory.
	onces map[string]*onceState
	// queues gather the UID requests of concurrent deliveries, one per
	// folder.
	queues map[*folder]*uidQueue
}

var _ Store = (*Maildir)(nil)

// OpenMaildir returns the Maildir store at root, creating root if needed.
func OpenMaildir(root string, opts *MaildirOptions) (*Maildir, error) {
	s := &Maildir{root: root, boxes: make(map[string]*maildirBox)}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Now == nil {
		s.opts.Now = time.Now
	}
	if s.opts.LockTimeout <= 0 {
		s.opts.LockTimeout = 10 * time.Second
	}
	if s.opts.StaleLock <= 0 {
		s.opts.StaleLock = 2 * time.Minute
	}
	if s.opts.Logger == nil {
		s.opts.Logger = slog.New(slog.DiscardHandler)
	}
	s.opts.FileMode &= os.ModePerm
	if s.opts.FileMode == 0 {
		s.opts.FileMode = 0o600
	}
	if err := os.MkdirAll(root, s.dirMode()); err != nil {
		return nil, &Error{Op: "open", Err: err}
	}
	return s, nil
}

// dirMode is FileMode with a search bit wherever it has a read bit.
func (s *Maildir) dirMode() os.FileMode {
	m := s.opts.FileMode
	return m | (m&0o444)>>2
}

// Dir returns the directory of user's mailbox: the INBOX's Maildir.
func (s *Maildir) Dir(user string) string { return filepath.Join(s.root, user) }

// Mailbox returns user's mailbox, creating its INBOX and Sent folders on
// first use.
func (s *Maildir) Mailbox(ctx context.Context, user string) (Mailbox, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !validUser(user) {
		return nil, &Error{Op: "open", User: user, Err: ErrInvalidUser}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.boxes[user]; b != nil {
		return b, nil
	}
	dir := s.Dir(user)
	if err := s.create(dir); err != nil {
		return nil, &Error{Op: "open", User: user, Err: err}
	}
	b := &maildirBox{store: s, user: user, dir: dir, folders: make(map[string]*folder)}
	s.boxes[user] = b
	return b, nil
}

// create makes the mailbox directory with INBOX and Sent if it does not
// exist: built under a temporary name, synced, then renamed into place, so
// that a crash leaves either no mailbox or a whole one.
func (s *Maildir) create(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "cur")); err == nil {
		// A mailbox made by another program may lack Sent.
		sent := filepath.Join(dir, "."+Sent)
		if _, err := os.Stat(filepath.Join(sent, "cur")); err == nil {
			return nil
		}
		if err := s.makeMaildir(sent, true); err != nil {
			return err
		}
		return syncDir(dir)
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(s.root, ".new-"+hex.EncodeToString(rnd[:]))
	defer os.RemoveAll(tmp)
	if err := s.makeMaildir(tmp, false); err != nil {
		return err
	}
	if err := s.makeMaildir(filepath.Join(tmp, "."+Sent), true); err != nil {
		return err
	}
	if err := syncDir(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "cur")); serr == nil {
			return nil // created meanwhile by another process
		}
		if errors.Is(err, fs.ErrExist) || isNotEmpty(err) {
			// A directory without cur/: complete it in place.
			return s.makeMaildir(dir, false)
		}
		return err
	}
	return syncDir(s.root)
}

func isNotEmpty(err error) bool {
	return err != nil && strings.Contains(err.Error(), "directory not empty")
}

// makeMaildir creates dir with tmp/, new/ and cur/ (and, for a Maildir++
// subfolder, the maildirfolder marker file), syncing what it creates.
func (s *Maildir) makeMaildir(dir string, sub bool) error {
	if err := os.MkdirAll(dir, s.dirMode()); err != nil {
		return err
	}
	for _, d := range []string{"tmp", "new", "cur"} {
		if err := os.Mkdir(filepath.Join(dir, d), s.dirMode()); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	if sub {
		f, err := os.OpenFile(filepath.Join(dir, "maildirfolder"), os.O_CREATE|os.O_WRONLY, s.opts.FileMode)
		if err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return syncDir(dir)
}

// syncDir fsyncs a directory, making the names created in it durable.
func syncDir(dir string) error {
	d, err := openFile(dir, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncShared fsyncs dir as syncDir does, sharing the fsync with the
// concurrent calls for the same directory.
func (s *Maildir) syncShared(dir string) error {
	s.smu.Lock()
	if s.syncers == nil {
		s.syncers = make(map[string]*groupSync)
	}
	g := s.syncers[dir]
	if g == nil {
		if len(s.syncers) >= maxSyncers {
			for d := range s.syncers { // its callers finish on it
				delete(s.syncers, d)
				break
			}
		}
		g = &groupSync{do: func() error { return syncDir(dir) }}
		s.syncers[dir] = g
	}
	s.smu.Unlock()
	return g.run()
}

// validUser reports whether user can name a directory under the root.
func validUser(user string) bool {
	if user == "" || len(user) > 255 || user[0] == '.' {
		return false
	}
	for i := 0; i < len(user); i++ {
		if c := user[i]; c < ' ' || c == 0x7f || c == '/' || c == '\\' {
			return false
		}
	}
	return true
}

// validFolder reports whether name can be a Maildir++ folder: printable
// ASCII without the hierarchy separator '.', path separators, IMAP
// wildcards, quotes or the modified UTF-7 shift character '&'.
func validFolder(name string) bool {
	if name == "" || len(name) > 200 || name[0] == ' ' || name[len(name)-1] == ' ' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < ' ' || c >= 0x7f || strings.IndexByte(`./\&*%"`, c) >= 0 {
			return false
		}
	}
	return true
}

// canonFolder returns INBOX for any case of "inbox", else name.
func canonFolder(name string) string {
	if strings.EqualFold(name, Inbox) {
		return Inbox
	}
	return name
}

// maildirBox is one user's Maildir++ directory.
type maildirBox struct {
	store   *Maildir
	user    string
	dir     string
	mu      sync.Mutex
	folders map[string]*folder

	// qmu orders quota checks with the deliveries and removals that
	// change the usage, so that two deliveries racing for the last bytes
	// cannot both pass. qchecked is set once this process has recomputed
	// maildirsize.
	qmu      sync.Mutex
	qchecked bool
}

// folderDir returns the directory of a folder.
func (b *maildirBox) folderDir(name string) string {
	if name == Inbox {
		return b.dir
	}
	return filepath.Join(b.dir, "."+name)
}

// folder returns the folder's state, checking on first use that it exists.
func (b *maildirBox) folder(op, name string) (*folder, error) {
	name = canonFolder(name)
	b.mu.Lock()
	defer b.mu.Unlock()
	if f := b.folders[name]; f != nil {
		return f, nil
	}
	if name != Inbox && !validFolder(name) {
		return nil, &Error{Op: op, User: b.user, Folder: name, Err: ErrNoFolder}
	}
	dir := b.folderDir(name)
	if st, err := os.Stat(filepath.Join(dir, "cur")); err != nil || !st.IsDir() {
		return nil, &Error{Op: op, User: b.user, Folder: name, Err: ErrNoFolder}
	}
	f := &folder{box: b, name: name, dir: dir, byBase: make(map[string]*entry)}
	b.folders[name] = f
	return f, nil
}

func (b *maildirBox) Folders(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	des, err := os.ReadDir(b.dir)
	if err != nil {
		return nil, &Error{Op: "folders", User: b.user, Err: err}
	}
	var names []string
	for _, de := range des {
		n := de.Name()
		if len(n) < 2 || n[0] != '.' || n == ".." || !de.IsDir() {
			continue
		}
		if st, err := os.Stat(filepath.Join(b.dir, n, "cur")); err != nil || !st.IsDir() {
			continue
		}
		names = append(names, n[1:])
	}
	sort.Strings(names)
	return append([]string{Inbox}, names...), nil
}

func (b *maildirBox) CreateFolder(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name = canonFolder(name)
	if name == Inbox {
		return &Error{Op: "create folder", User: b.user, Folder: name, Err: ErrFolderExists}
	}
	if !validFolder(name) {
		return &Error{Op: "create folder", User: b.user, Folder: name, Err: ErrInvalidFolder}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	dir := b.folderDir(name)
	if _, err := os.Stat(filepath.Join(dir, "cur")); err == nil {
		return &Error{Op: "create folder", User: b.user, Folder: name, Err: ErrFolderExists}
	}
	if err := b.store.makeMaildir(dir, true); err != nil {
		return &Error{Op: "create folder", User: b.user, Folder: name, Err: err}
	}
	if err := syncDir(b.dir); err != nil {
		return &Error{Op: "create folder", User: b.user, Folder: name, Err: err}
	}
	return nil
}
