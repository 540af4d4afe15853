package mailbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// The record of what Once delivered into a folder is its pec-once/log:
// one line per delivery, "<digest> <base>\n", the digest 32 hex digits
// of the SHA-256 of the message's bytes and base the Maildir base name
// it was stored under. A line is appended with one write and the file
// fsync'd before the message is placed; concurrent deliveries into a
// folder share the fsync. A line cut by a crash is ignored (its message
// was not placed). The log is read once per process, then kept in
// memory (for the last maxOnces folders used); when most of its lines
// name messages no longer in the folder, it is written again with only
// the others. A record file per digest
// (pec-once/<digest>, holding the base), as earlier versions wrote,
// is still honoured.
const (
	onceDir = "pec-once"
	onceLog = "log"
	// maxOnces bounds the folders whose record is kept in memory; one
	// not in use is dropped past it, and read again when needed.
	maxOnces = 1024
	// maxSyncers bounds the directories with a groupSync, and the
	// folders with a uidQueue: one dropped only stops sharing for the
	// calls that come after.
	maxSyncers = 4096
)

// onceState is the record of one folder, as read from its log.
type onceState struct {
	mu     sync.Mutex
	loaded bool
	last   map[string]string // digest: base of the latest delivery
	lines  int               // lines in the log
	torn   bool              // the log ends without a newline
	path   string            // the log
	sync   *groupSync        // its fsyncs
}

// onceOf returns the state of folder f's record.
func (s *Maildir) onceOf(f *folder) *onceState {
	s.smu.Lock()
	defer s.smu.Unlock()
	if s.onces == nil {
		s.onces = make(map[string]*onceState)
	}
	o := s.onces[f.dir]
	if o == nil {
		if len(s.onces) >= maxOnces {
			for dir, x := range s.onces {
				if x.mu.TryLock() { // not in use: dropped, read again when needed
					delete(s.onces, dir)
					x.mu.Unlock()
					break
				}
			}
		}
		o = &onceState{}
		s.onces[f.dir] = o
	}
	return o
}

// load reads the log of the folder at dir, compacting it when most of
// its lines name messages no longer there. Call with o.mu held.
func (o *onceState) load(ctx context.Context, b *maildirBox, f *folder, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dir, onceLog)
	o.last = make(map[string]string)
	o.lines, o.torn = 0, false
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			o.torn = true
			break
		}
		line := string(data[:i])
		data = data[i+1:]
		o.lines++
		digest, base, ok := strings.Cut(line, " ")
		if ok && len(digest) == 32 && validBase(base) {
			o.last[digest] = base
		}
	}
	if o.lines > 1024 {
		if err := o.compact(ctx, b, f, dir); err != nil {
			return err
		}
	}
	lf, err := openFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, b.store.opts.FileMode)
	if err != nil {
		return err
	}
	if err := lf.Close(); err != nil {
		return err
	}
	o.path = path
	o.sync = &groupSync{do: func() error { return syncFile(path) }}
	o.loaded = true
	return b.store.syncShared(dir)
}

// compact writes the log again with the records of the messages still in
// the folder, when they are fewer than half its lines. Call with o.mu
// held.
func (o *onceState) compact(ctx context.Context, b *maildirBox, f *folder, dir string) error {
	f.mu.Lock()
	err := f.sync(ctx)
	present := make(map[string]bool, len(f.byBase))
	for base := range f.byBase {
		present[base] = true
	}
	f.mu.Unlock()
	if err != nil {
		return err
	}
	keep := make(map[string]string)
	for digest, base := range o.last {
		if present[base] {
			keep[digest] = base
		}
	}
	if 2*len(keep) > o.lines {
		return nil
	}
	tmp := filepath.Join(dir, onceLog+".tmp")
	w, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, b.store.opts.FileMode)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	for digest, base := range keep {
		bw.WriteString(digest + " " + base + "\n")
	}
	err = bw.Flush()
	if err == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, onceLog))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	o.last, o.lines, o.torn = keep, len(keep), false
	return nil
}

// record appends the line of a delivery of digest as base, and returns
// once it is durable.
func (o *onceState) record(digest, base string) error {
	line := digest + " " + base + "\n"
	if o.torn {
		line = "\n" + line
	}
	f, err := openFile(o.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.Write([]byte(line))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	o.torn = false
	o.lines++
	o.last[digest] = base
	return nil
}

// syncFile fsyncs the file at path (what was written to it through
// another descriptor included).
func syncFile(path string) error {
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

// groupSync runs do, an fsync, on behalf of concurrent callers, once for
// all those waiting (group commit): each call returns after a run that
// started after the call did, so that whatever the caller wrote before
// calling is durable.
type groupSync struct {
	do       func() error
	mu       sync.Mutex
	cond     *sync.Cond
	started  uint64 // runs started
	finished uint64 // runs finished
	running  bool
	last     error // the error of the last run finished
}

// run returns after a run of do that started after the call, with its
// error.
func (g *groupSync) run() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cond == nil {
		g.cond = sync.NewCond(&g.mu)
	}
	target := g.started + 1
	for {
		if g.finished >= target {
			return g.last
		}
		if g.running {
			g.cond.Wait()
			continue
		}
		g.started++
		g.running = true
		g.mu.Unlock()
		err := g.do()
		g.mu.Lock()
		g.running = false
		g.finished = g.started
		g.last = err
		g.cond.Broadcast()
	}
}
