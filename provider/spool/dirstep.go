package spool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Done records the step; see Spool.Done. The output goes to a temporary
// file, fsync'd and hard-linked to the step's name, then the directory
// is fsync'd.
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
	nf, _, err := d.writeNew(ctx, kindStep, hdr, output)
	if err != nil {
		var re *readError
		if errors.As(err, &re) {
			return fmt.Errorf("spool: reading the output of step %q of item %q: %w", step, id, re.err)
		}
		return fmt.Errorf("spool: writing step %q of item %q: %w", step, id, err)
	}
	if ctx.Err() != nil {
		nf.discard()
		return context.Cause(ctx)
	}
	path := d.stepPath(id, step)
	err = nf.link(path)
	nf.discard()
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("spool: %s exists but step %q of item %q is not recorded: %w", path, step, id, ErrCorrupt)
	}
	if err != nil {
		return fmt.Errorf("spool: recording step %q of item %q: %w", step, id, err)
	}
	if err := d.syncer.sync(); err != nil {
		os.Remove(path)
		return d.fail(fmt.Errorf("fsync of %s after recording step %q of item %q: %w", d.dir, step, id, err))
	}
	if d.tab.markDone(e, step) {
		// A retry of a done step is ignored, and removed, by Open: no
		// fsync needed.
		if err := os.Remove(d.retryPath(id, step)); err != nil && !errors.Is(err, os.ErrNotExist) {
			d.log.Warn("spool: removing the retry of a done step", "item", id, "step", step, "err", err)
		}
	}
	return nil
}

// Output opens the step's file at its output; see Spool.Output.
func (d *Dir) Output(ctx context.Context, id, step string) (io.ReadCloser, error) {
	if err := validStep(step); err != nil {
		return nil, err
	}
	e, end, err := d.find(ctx, id)
	if err != nil {
		return nil, err
	}
	defer end()
	if !d.tab.isDone(e, step) {
		return nil, notFound(id, step)
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
// written to a temporary file, fsync'd and renamed over the step's
// previous one, then the directory is fsync'd.
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
	tmp, _, err := d.writeTemp(ctx, kindRetry, hdr, nil)
	if err != nil {
		return 0, fmt.Errorf("spool: writing the retry of step %q of item %q: %w", step, id, err)
	}
	if ctx.Err() != nil {
		os.Remove(tmp)
		return 0, context.Cause(ctx)
	}
	if err := os.Rename(tmp, d.retryPath(id, step)); err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("spool: recording the retry of step %q of item %q: %w", step, id, err)
	}
	if err := d.syncer.sync(); err != nil {
		return 0, d.fail(fmt.Errorf("fsync of %s after a retry of step %q of item %q: %w", d.dir, step, id, err))
	}
	d.tab.setRetry(e, r)
	return r.Attempts, nil
}

// Complete removes the item; see Spool.Complete. The item's file goes
// first, and its removal is fsync'd: that is the commit point. Its
// steps and retries go after; Open removes those a crash left behind.
func (d *Dir) Complete(ctx context.Context, id string) error {
	_, e, end, err := d.write(ctx, id)
	if err != nil {
		return err
	}
	defer end()
	if err := os.Remove(d.itemPath(id)); err != nil {
		return d.fail(fmt.Errorf("removing item %q: %w", id, err))
	}
	if err := d.syncer.sync(); err != nil {
		return d.fail(fmt.Errorf("fsync of %s after removing item %q: %w", d.dir, id, err))
	}
	st := d.tab.state(e)
	d.tab.remove(e)
	for _, step := range st.Steps {
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
