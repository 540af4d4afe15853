package spool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"time"
)

// Done records the step; see Spool.Done. The output, read whole, is
// appended to the item's log as one record, which is fsync'd.
func (d *Dir) Done(ctx context.Context, id, step string, output io.Reader) error {
	if err := validStep(step); err != nil {
		return err
	}
	ctx, e, end, err := d.write(ctx, id)
	if err != nil {
		return err
	}
	defer end()
	if d.tab.isDone(e, step) {
		return nil // recorded, durable before it was marked done
	}
	hdr, err := json.Marshal(diskStep{ID: id, Step: step, Time: d.now().UTC()})
	if err != nil {
		return err
	}
	body, err := readAll(ctx, output)
	if err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return fmt.Errorf("spool: reading the output of step %q of item %q: %w", step, id, err)
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	rec := appendRecord(make([]byte, 0, logOverhead+len(hdr)+len(body)), kindStep, hdr, body)
	off, err := d.appendLog(e, rec)
	if err != nil {
		return fmt.Errorf("spool: recording step %q of item %q: %w", step, id, err)
	}
	bodyOff := off + int64(logPrefixLen+len(hdr)+4)
	if d.tab.markDoneAt(e, step, logSpan{off: bodyOff, len: int64(len(body)), crc: crc32.Checksum(body, castagnoli)}) {
		// A retry file of the first format: ignored, and removed, by
		// Open once the step is done; no fsync needed.
		if err := os.Remove(d.retryPath(id, step)); err != nil && !errors.Is(err, os.ErrNotExist) {
			d.log.Warn("spool: removing the retry of a done step", "item", id, "step", step, "err", err)
		}
	}
	return nil
}

// appendLog appends rec to the log of e, which the caller has locked,
// and fsyncs it; it returns the offset of the record. The log follows
// the item's frame in its file; for an item of the first format it is
// <id>.log, created at its first record, and the directory fsync'd. Any
// failure fails the spool: the log's tail is then unknown until Open
// cuts it.
//
// The item's file is kept open between appends (entry.file), up to
// maxOpen items: a step then costs one write and one fsync, not an open
// and a close besides.
func (d *Dir) appendLog(e *entry, rec []byte) (int64, error) {
	path := d.entryLog(e)
	created := false
	var f *os.File
	kept := e.file.Load()
	if kept != nil {
		f = kept.f
	} else {
		var err error
		f, err = openFile(path, os.O_RDWR, 0)
		if errors.Is(err, os.ErrNotExist) && !e.inItem && e.logEnd == 0 {
			f, err = openFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, fileMode)
			created = true
		}
		if err != nil {
			return 0, err
		}
		if e.inItem && d.keep() {
			kept = newItemFile(f)
			e.file.Store(kept)
		}
	}
	off := e.logEnd
	_, err := f.WriteAt(rec, off)
	if err == nil {
		err = f.Sync()
	}
	if kept == nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil && created {
		err = d.syncer.sync()
	}
	if err != nil {
		d.drop(e)
		return 0, d.fail(fmt.Errorf("appending to %s: %w", path, err))
	}
	e.logEnd = off + int64(len(rec))
	return off, nil
}

// Output opens the step's output in the item's log; see Spool.Output.
// It is read through the item's file when it is kept open.
func (d *Dir) Output(ctx context.Context, id, step string) (io.ReadCloser, error) {
	if err := validStep(step); err != nil {
		return nil, err
	}
	e, end, err := d.find(ctx, id)
	if err != nil {
		return nil, err
	}
	defer end()
	span, inLog, done := d.tab.span(e, step)
	if !done {
		return nil, notFound(id, step)
	}
	if inLog {
		path := d.entryLog(e)
		if r := e.read(span, path); r != nil {
			return r, nil
		}
		f, err := openFile(path, os.O_RDONLY, 0)
		if errors.Is(err, os.ErrNotExist) {
			return nil, notFound(id, step) // completed meanwhile
		}
		if err != nil {
			return nil, err
		}
		return &bodyReader{
			r: io.NewSectionReader(f, span.off, span.len), c: f,
			crc: newCRC(), want: span.crc, path: path, off: span.off,
		}, nil
	}
	f, fr, err := openFrame(d.stepPath(id, step), kindStep)
	if errors.Is(err, os.ErrNotExist) {
		return nil, notFound(id, step) // completed meanwhile
	}
	if err != nil {
		return nil, err
	}
	return fr.reader(f), nil
}

// Retry records a failed attempt; see Spool.Retry. The schedule is
// appended to the item's log as one record, which is fsync'd.
func (d *Dir) Retry(ctx context.Context, id, step string, next time.Time, cause string) (int, error) {
	if err := validStep(step); err != nil {
		return 0, err
	}
	if err := validRetry(next, cause); err != nil {
		return 0, err
	}
	ctx, e, end, err := d.write(ctx, id)
	if err != nil {
		return 0, err
	}
	defer end()
	if d.tab.isDone(e, step) {
		return 0, nil
	}
	r := Retry{Step: step, Attempts: d.tab.attempts(e, step) + 1, Next: next.Round(0).Truncate(time.Microsecond), Cause: cause}
	hdr, err := json.Marshal(diskRetry{ID: id, Step: step, Attempts: r.Attempts, Next: r.Next, Cause: cause})
	if err != nil {
		return 0, err
	}
	if ctx.Err() != nil {
		return 0, context.Cause(ctx)
	}
	if _, err := d.appendLog(e, appendRecord(nil, kindRetry, hdr, nil)); err != nil {
		return 0, fmt.Errorf("spool: recording the retry of step %q of item %q: %w", step, id, err)
	}
	d.tab.setRetry(e, r)
	return r.Attempts, nil
}

// Complete removes the item; see Spool.Complete. The item's file goes
// first, and its removal is fsync'd: that is the commit point. Its log
// (and the step and retry files of an item stored before logs were) go
// after; Open removes those a crash left behind.
func (d *Dir) Complete(ctx context.Context, id string) error {
	_, e, end, err := d.write(ctx, id)
	if err != nil {
		return err
	}
	defer end()
	d.drop(e)
	if err := os.Remove(d.itemPath(id)); err != nil {
		return d.fail(fmt.Errorf("removing item %q: %w", id, err))
	}
	if err := d.syncer.sync(); err != nil {
		return d.fail(fmt.Errorf("fsync of %s after removing item %q: %w", d.dir, id, err))
	}
	st := d.tab.state(e)
	d.tab.remove(e)
	if e.inItem {
		return nil // the log went with the item's file
	}
	if err := os.Remove(d.logPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		// Left behind, it would count as done for a later item of
		// the same ID.
		return d.fail(fmt.Errorf("removing the log of completed item %q: %w", id, err))
	}
	for _, step := range st.Steps {
		if _, inLog := e.outs[step]; inLog {
			continue
		}
		if err := os.Remove(d.stepPath(id, step)); err != nil {
			// Left behind, it would count as done for a later item
			// of the same ID.
			return d.fail(fmt.Errorf("removing step %q of completed item %q: %w", step, id, err))
		}
	}
	for _, r := range st.Retries {
		if err := os.Remove(d.retryPath(id, r.Step)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return d.fail(fmt.Errorf("removing the retry of step %q of completed item %q: %w", r.Step, id, err))
		}
	}
	return nil
}
