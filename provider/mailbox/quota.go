package mailbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The Maildir++ quota file (Courier's maildirquota convention, which
// Dovecot's "maildir" quota backend reads and writes): in the mailbox's
// root, a header line with the limits ("<bytes>S,<count>C"), then one line
// "<bytes> <messages>" per change, negative for removals. The usage is the
// sum of the lines.
const (
	quotaName = "maildirsize"
	// quotaFileMax is the size past which the file is recomputed rather
	// than appended to (Courier's and Dovecot's 5120 bytes).
	quotaFileMax = 5120
	// quotaStale is the age past which a file that says "over quota" is
	// recomputed before a delivery is refused (Courier's 15 minutes): a
	// process that removed messages without updating it is forgiven.
	quotaStale = 15 * time.Minute
	// quotaLineMax bounds the figures of one line, so that sums never
	// overflow: larger ones make the file unreadable, hence recomputed.
	quotaLineMax = 1 << 53
)

// quotaSum is what a maildirsize file says.
type quotaSum struct {
	limit int64 // bytes, from the header's "S" field; 0 when none
	bytes int64
	msgs  int64
}

// parseQuota reads a maildirsize file; ok is false when it cannot be
// trusted and must be recomputed: no header, a line that is not two
// integers (a write cut by a crash), or a negative sum. Header fields
// other than S are ignored.
func parseQuota(data []byte) (q quotaSum, ok bool) {
	if len(data) == 0 || data[len(data)-1] != '\n' {
		return q, false
	}
	lines := strings.Split(string(data[:len(data)-1]), "\n")
	for _, f := range strings.Split(lines[0], ",") {
		f = strings.TrimSpace(f)
		if len(f) < 2 {
			continue
		}
		n, err := strconv.ParseInt(f[:len(f)-1], 10, 64)
		if err != nil || n < 0 || n > quotaLineMax {
			return q, false
		}
		if f[len(f)-1] == 'S' {
			q.limit = n
		}
	}
	for _, l := range lines[1:] {
		fields := strings.Fields(l)
		if len(fields) != 2 {
			return q, false
		}
		b, err1 := strconv.ParseInt(fields[0], 10, 64)
		c, err2 := strconv.ParseInt(fields[1], 10, 64)
		if err1 != nil || err2 != nil || b > quotaLineMax || b < -quotaLineMax || c > quotaLineMax || c < -quotaLineMax {
			return q, false
		}
		q.bytes += b
		q.msgs += c
	}
	return q, q.bytes >= 0 && q.msgs >= 0
}

// marshal returns the file recomputed: the header and one line.
func (q quotaSum) marshal() []byte {
	b := strconv.AppendInt(nil, q.limit, 10)
	b = append(b, "S\n"...)
	b = strconv.AppendInt(b, q.bytes, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, q.msgs, 10)
	return append(b, '\n')
}

// limit returns the user's quota in bytes, 0 for none.
func (b *maildirBox) limit(ctx context.Context) (int64, error) {
	o := &b.store.opts
	if o.UserQuota != nil {
		n, err := o.UserQuota(ctx, b.user)
		if err != nil {
			return 0, err
		}
		if n >= 0 {
			return n, nil
		}
	}
	return o.Quota, nil
}

// usage returns the mailbox's usage as maildirsize says it, recomputed
// when the file is missing, cannot be read, has grown past quotaFileMax,
// names another limit, or has not yet been checked by this process (whose
// deliveries may have been cut by a crash between the message and its
// line). With limit 0 nothing is written. Call with b.qmu held.
func (b *maildirBox) usage(ctx context.Context, limit int64) (quotaSum, error) {
	data, err := os.ReadFile(filepath.Join(b.dir, quotaName))
	if err != nil && !isNotExist(err) {
		return quotaSum{}, err
	}
	if err == nil && b.qchecked && len(data) <= quotaFileMax {
		if q, ok := parseQuota(data); ok && q.limit == limit {
			return q, nil
		}
	}
	return b.recount(ctx, limit)
}

// recount sums the sizes of the messages of every folder but Archive, from
// their ",S=" fields (a stat for names without one), and writes maildirsize
// anew when there is a limit. Call with b.qmu held.
func (b *maildirBox) recount(ctx context.Context, limit int64) (quotaSum, error) {
	var q quotaSum
	for try := 0; ; try++ {
		var stable bool
		var err error
		q, stable, err = b.count(ctx)
		if err != nil {
			return q, err
		}
		if stable || try == 4 {
			break
		}
	}
	q.limit = limit
	if limit == 0 {
		return q, nil
	}
	written, err := b.store.replaceFile(ctx, b.dir, quotaName, q.marshal())
	if err != nil {
		return q, err
	}
	b.qchecked = written
	return q, nil
}

// count sums the messages' sizes once; stable is false when a directory
// changed meanwhile (a message renamed from new/ to cur/ may have been
// counted twice or not at all).
func (b *maildirBox) count(ctx context.Context) (q quotaSum, stable bool, err error) {
	folders, err := b.Folders(ctx)
	if err != nil {
		return q, false, err
	}
	stable = true
	for _, name := range folders {
		if name == Archive {
			continue
		}
		dir := b.folderDir(name)
		for _, sub := range [2]string{"new", "cur"} {
			if err := ctx.Err(); err != nil {
				return q, false, err
			}
			p := filepath.Join(dir, sub)
			before, err := os.Stat(p)
			if isNotExist(err) {
				continue // removed by another program
			}
			if err != nil {
				return q, false, err
			}
			des, err := os.ReadDir(p)
			if err != nil {
				return q, false, err
			}
			for _, de := range des {
				n := de.Name()
				if n[0] == '.' || de.IsDir() {
					continue
				}
				size := parseName(n).size
				if size < 0 {
					st, err := os.Stat(filepath.Join(p, n))
					if err != nil {
						continue
					}
					size = st.Size()
				}
				q.bytes += size
				q.msgs++
			}
			if after, err := os.Stat(p); err != nil || !after.ModTime().Equal(before.ModTime()) {
				stable = false
			}
		}
	}
	return q, stable, nil
}

// reserve checks that size more bytes fit in the quota, recomputing a
// stale figure before refusing with ErrQuota, and returns the usage.
// Call with b.qmu held.
func (b *maildirBox) reserve(ctx context.Context, limit, size int64) (quotaSum, error) {
	q, err := b.usage(ctx, limit)
	if err != nil || q.bytes+size <= limit {
		return q, err
	}
	if st, err := os.Stat(filepath.Join(b.dir, quotaName)); err == nil && time.Since(st.ModTime()) > quotaStale {
		if q, err = b.recount(ctx, limit); err != nil || q.bytes+size <= limit {
			return q, err
		}
	}
	return q, ErrQuota
}

// addUsage appends a change to maildirsize, synced, when the file exists
// (kept for Dovecot's quota even with no limit here); without one, the
// next check recomputes. Call with b.qmu held.
func (b *maildirBox) addUsage(bytes, msgs int64) error {
	f, err := openFile(filepath.Join(b.dir, quotaName), os.O_WRONLY|os.O_APPEND, 0)
	if isNotExist(err) {
		b.qchecked = false
		return nil
	}
	if err != nil {
		return err
	}
	line := strconv.AppendInt(nil, bytes, 10)
	line = append(line, ' ')
	line = strconv.AppendInt(line, msgs, 10)
	line = append(line, '\n')
	// One write with O_APPEND: lines of concurrent writers do not mix.
	_, err = f.Write(line)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b.qchecked = false
	}
	return err
}

// Usage returns the mailbox's usage, Archive aside, and its limit.
func (b *maildirBox) Usage(ctx context.Context) (Usage, error) {
	if err := ctx.Err(); err != nil {
		return Usage{}, err
	}
	limit, err := b.limit(ctx)
	if err != nil {
		return Usage{}, &Error{Op: "usage", User: b.user, Err: err}
	}
	b.qmu.Lock()
	defer b.qmu.Unlock()
	q, err := b.usage(ctx, limit)
	if err != nil {
		return Usage{}, &Error{Op: "usage", User: b.user, Err: err}
	}
	return Usage{Bytes: q.bytes, Messages: q.msgs, Limit: limit}, nil
}

// replaceFile replaces dir/name with data the way Dovecot does for its
// small files: written in the dot-lock name.lock, created exclusively,
// synced and renamed over the file. When another process holds the lock
// (and it is not stale), nothing is written and written is false, as
// Dovecot does not wait to rewrite maildirsize either.
func (s *Maildir) replaceFile(ctx context.Context, dir, name string, data []byte) (written bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	lockPath := filepath.Join(dir, name+".lock")
	lock, err := os.OpenFile(lockPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, s.opts.FileMode)
	if errors.Is(err, fs.ErrExist) {
		st, serr := os.Stat(lockPath)
		if serr != nil || time.Since(st.ModTime()) <= s.opts.StaleLock {
			return false, nil
		}
		s.opts.Logger.Warn("mailbox: removing stale lock", "path", lockPath, "age", time.Since(st.ModTime()))
		// Renamed away first, so that of two processes finding it stale
		// only one removes it, and not a fresh lock taken meanwhile.
		var rnd [8]byte
		rand.Read(rnd[:])
		aside := lockPath + ".stale-" + hex.EncodeToString(rnd[:])
		if os.Rename(lockPath, aside) != nil {
			return false, nil
		}
		os.Remove(aside)
		lock, err = os.OpenFile(lockPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, s.opts.FileMode)
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
	}
	if err != nil {
		return false, err
	}
	done := false
	defer func() {
		if !done {
			lock.Close()
			os.Remove(lockPath)
		}
	}()
	if _, err := lock.Write(data); err != nil {
		return false, err
	}
	if err := lock.Sync(); err != nil {
		return false, err
	}
	if err := lock.Close(); err != nil {
		return false, err
	}
	if err := os.Rename(lockPath, filepath.Join(dir, name)); err != nil {
		return false, err
	}
	done = true
	return true, syncDir(dir)
}
