package spool

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The spool holds messages and their envelopes: readable by its owner
// and group only (less with a stricter umask).
const (
	fileMode = 0o640
	dirMode  = 0o750
)

// Names in a spool directory.
const (
	markerName = "SPOOL"
	markerText = "pec spool 2\n"
	// markerV1 marks a spool written before item logs: its step and
	// retry files are read, and the marker rewritten, by Open.
	markerV1   = "pec spool 1\n"
	lockName   = "LOCK"
	tmpPrefix  = ".tmp-"
	itemSuffix = ".msg"
	stepSuffix = ".step"
	retrySuf   = ".retry"
	stepKeyLen = 32 // hex digits of the SHA-256 of a step name
)

// Dir is a Spool in one directory on local disk, crash-safe; see the
// package documentation for its files. One process at a time may have a
// directory open.
type Dir struct {
	dir     string
	tab     *table
	now     func() time.Time
	log     *slog.Logger
	lock    *os.File
	syncer  *dirSyncer
	life    life
	damaged []*CorruptError
	// withheld holds the IDs of the items of damaged files, which Put
	// refuses; set by Open, read-only after.
	withheld map[string]bool

	fmu    sync.Mutex
	failed error

	files atomic.Int32 // item files kept open (entry.file)
}

var _ Spool = (*Dir)(nil)

// Open opens the spool in dir, making the directory when it does not
// exist, and loads the items it holds. It removes what a crash left
// unfinished (temporary files; the steps and retries of completed items)
// and reports files it cannot read as Damaged, without touching them. It
// returns an error matching ErrLocked when another process has dir open,
// and one matching ErrNotSpool when dir holds other files.
func Open(ctx context.Context, dir string, opts *Options) (*Dir, error) {
	if err := mkdirDurable(filepath.Clean(dir)); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	marked := false
	for _, e := range ents {
		marked = marked || e.Name() == markerName
	}
	if !marked {
		for _, e := range ents {
			if e.Name() != lockName && e.Name() != tmpPrefix+markerName {
				return nil, fmt.Errorf("%w: %s holds %q and no %s marker", ErrNotSpool, dir, e.Name(), markerName)
			}
		}
	}
	lock, err := lockDir(filepath.Join(dir, lockName))
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, err
	}
	d := &Dir{dir: dir, tab: newTable(), now: opts.now(), log: opts.logger(), lock: lock}
	d.life.init()
	if err := d.open(ctx); err != nil {
		d.life.close()
		if d.syncer != nil {
			d.syncer.close()
		}
		lock.Close()
		return nil, err
	}
	return d, nil
}

func (d *Dir) open(ctx context.Context) error {
	b, err := os.ReadFile(filepath.Join(d.dir, markerName))
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := writeMarker(d.dir); err != nil {
			return err
		}
	case err != nil:
		return err
	case string(b) == markerV1:
		if err := writeMarker(d.dir); err != nil {
			return err
		}
	case string(b) != markerText:
		return fmt.Errorf("%w: %s: marker %q, want %q", ErrNotSpool, d.dir, b, markerText)
	}
	if d.syncer, err = newDirSyncer(d.dir); err != nil {
		return err
	}
	return d.load(ctx)
}

// writeMarker makes dir a spool: the marker written to a temporary file,
// fsync'd, renamed, and the directory fsync'd.
func writeMarker(dir string) error {
	tmp := filepath.Join(dir, tmpPrefix+markerName)
	if err := os.WriteFile(tmp, []byte(markerText), fileMode); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, markerName))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncPath(dir)
}

// mkdirDurable makes dir and its missing parents, and fsyncs the parent
// of each directory it makes, so that their names outlive a crash.
func mkdirDurable(dir string) error {
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirDurable(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, dirMode); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return syncPath(parent)
}

// syncPath fsyncs the directory at path.
func syncPath(path string) error {
	f, err := openFile(path, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Damaged returns the files Open found damaged or foreign, and left
// untouched. The items they belong to are withheld: not in Pending, not
// found by Get, and their IDs refused by Put, until an operator repairs
// or removes the files and the spool is reopened.
func (d *Dir) Damaged() []*CorruptError {
	return append([]*CorruptError(nil), d.damaged...)
}

// Close releases the directory; see Spool.Close.
func (d *Dir) Close() error {
	if !d.life.close() {
		return nil
	}
	d.tab.mu.Lock()
	for _, e := range d.tab.m {
		d.drop(e) // no call is under way any more
	}
	d.tab.mu.Unlock()
	err := d.syncer.close()
	if cerr := d.lock.Close(); err == nil {
		err = cerr
	}
	return err
}

func (d *Dir) itemPath(id string) string { return filepath.Join(d.dir, id+itemSuffix) }

func (d *Dir) stepPath(id, step string) string {
	return filepath.Join(d.dir, id+"."+stepKey(step)+stepSuffix)
}

func (d *Dir) logPath(id string) string { return filepath.Join(d.dir, id+logSuffix) }

// entryLog is the file of e's log: its item's file, or for an item of
// the first format <id>.log.
func (d *Dir) entryLog(e *entry) string {
	if e.inItem {
		return d.itemPath(e.item.ID)
	}
	return d.logPath(e.item.ID)
}

func (d *Dir) retryPath(id, step string) string {
	return filepath.Join(d.dir, id+"."+stepKey(step)+retrySuf)
}

// stepKey names a step's files: the step name can be longer than a file
// name and hold any character.
func stepKey(step string) string {
	h := sha256.Sum256([]byte(step))
	return hex.EncodeToString(h[:stepKeyLen/2])
}

// splitStepName splits "<id>.<key>" of a step's or retry's file name.
func splitStepName(s string) (id, key string, ok bool) {
	i := strings.LastIndexByte(s, '.')
	if i < 0 || len(s)-i-1 != stepKeyLen {
		return "", "", false
	}
	id, key = s[:i], s[i+1:]
	for _, c := range key {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", "", false
		}
	}
	return id, key, ValidID(id) == nil
}

// fail makes the spool refuse every later write: after a failed write,
// fsync or removal, what is on disk is unknown until the next Open.
func (d *Dir) fail(err error) error {
	d.fmu.Lock()
	defer d.fmu.Unlock()
	if d.failed == nil {
		d.failed = fmt.Errorf("%w: %w", ErrFailed, err)
		d.log.Error("spool: refusing writes until reopened", "dir", d.dir, "err", err)
	}
	return d.failed
}

func (d *Dir) failure() error {
	d.fmu.Lock()
	defer d.fmu.Unlock()
	return d.failed
}

// writeTemp writes a frame to a new temporary file and fsyncs it. It
// returns the file's path and the body's length; on error it leaves no
// file behind.
func (d *Dir) writeTemp(ctx context.Context, kind byte, header []byte, body io.Reader) (string, int64, error) {
	var rnd [12]byte
	rand.Read(rnd[:])
	path := filepath.Join(d.dir, tmpPrefix+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return "", 0, err
	}
	n, err := d.fill(ctx, f, kind, header, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", 0, err
	}
	return path, n, nil
}

// fill writes a frame to f and fsyncs it.
func (d *Dir) fill(ctx context.Context, f *os.File, kind byte, header []byte, body io.Reader) (int64, error) {
	if body != nil {
		body = ctxReader{ctx, body}
	}
	n, err := writeFrame(f, kind, header, body)
	if err == nil {
		err = f.Sync()
	}
	if err == nil && ctx.Err() != nil {
		err = &readError{context.Cause(ctx)}
	}
	return n, err
}

// newFile is a file written and fsync'd, to be linked to its name.
type newFile struct {
	f    *os.File // a file without a name (O_TMPFILE), or nil
	path string   // else its temporary name
}

// writeNew writes a frame to a new file and fsyncs it, ready for
// link. Where the system allows it (Linux's O_TMPFILE) the file has no
// name until it is linked: no temporary name is created and removed, the
// most costly part of a step on ext4, and a crash leaves nothing behind.
// On error it leaves no file behind.
func (d *Dir) writeNew(ctx context.Context, kind byte, header []byte, body io.Reader) (*newFile, int64, error) {
	if f := openAnon(d.dir); f != nil {
		n, err := d.fill(ctx, f, kind, header, body)
		if err != nil {
			f.Close()
			return nil, 0, err
		}
		return &newFile{f: f}, n, nil
	}
	path, n, err := d.writeTemp(ctx, kind, header, body)
	if err != nil {
		return nil, 0, err
	}
	return &newFile{path: path}, n, nil
}

// link gives the file the name path, failing (os.ErrExist) when path
// exists.
func (nf *newFile) link(path string) error {
	if nf.f != nil {
		return linkAnon(nf.f, path)
	}
	return os.Link(nf.path, path)
}

// discard closes the file, or removes its temporary name.
func (nf *newFile) discard() {
	if nf.f != nil {
		nf.f.Close()
		return
	}
	os.Remove(nf.path)
}

// openFrame opens path and parses its frame, expecting kind.
func openFrame(path string, kind byte) (*os.File, *frame, error) {
	f, err := openFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	fr, err := parseFrame(f, fi.Size())
	if err == nil && fr.kind != kind && !(kind == kindItem && fr.kind == kindLogged) {
		err = &CorruptError{Offset: int64(len(frameMagic)), Reason: fmt.Sprintf("kind %q, want %q", fr.kind, kind)}
	}
	if err != nil {
		f.Close()
		var ce *CorruptError
		if errors.As(err, &ce) {
			ce.Path = path
		}
		return nil, nil, err
	}
	return f, fr, nil
}

// reader returns a reader of the body of the frame fr of f, which it
// closes.
func (fr *frame) reader(f *os.File) io.ReadCloser {
	return &bodyReader{
		r: io.NewSectionReader(f, fr.bodyOff, fr.bodyLen), c: f,
		crc: newCRC(), want: fr.bodyCRC, path: f.Name(), off: fr.bodyOff,
	}
}
