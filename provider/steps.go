package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/spool"
	"github.com/pecsdk/pec/trace"
)

// errLater reports work that cannot finish now and was scheduled again.
var errLater = errors.New("provider: scheduled again")

// work is one pass over one spool item.
type work struct {
	p    *Provider
	st   *spool.State
	body []byte
	now  time.Time
}

func (w *work) done(step string) bool { return w.st.Done(step) }

// mark records step with no output.
func (w *work) mark(ctx context.Context, step string) error {
	if w.done(step) {
		return nil
	}
	if err := w.p.cfg.Spool.Done(ctx, w.st.Item.ID, step, nil); err != nil {
		return err
	}
	w.st.Steps = append(w.st.Steps, step)
	return nil
}

// emit returns the output of step: made by build the first time, read back
// from the spool ever after, so that a restart sends the same signed bytes.
func (w *work) emit(ctx context.Context, step string, build func() ([]byte, error)) ([]byte, error) {
	if !w.done(step) {
		if build == nil {
			return nil, fmt.Errorf("provider: step %s of %s not recorded", step, w.st.Item.ID)
		}
		b, err := build()
		if err != nil {
			return nil, err
		}
		if err := w.p.cfg.Spool.Done(ctx, w.st.Item.ID, step, bytes.NewReader(b)); err != nil {
			return nil, err
		}
		w.st.Steps = append(w.st.Steps, step)
	}
	rc, err := w.p.cfg.Spool.Output(ctx, w.st.Item.ID, step)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readAll(rc)
}

// readAll is io.ReadAll, in one allocation when r tells its size (as the
// spool's readers of bodies and outputs do).
func readAll(r io.Reader) ([]byte, error) {
	s, ok := r.(interface{ Size() int64 })
	if !ok {
		return io.ReadAll(r)
	}
	n := s.Size()
	if n < 0 || n > 1<<30 {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, n+1) // the byte more: the read that meets io.EOF does not grow it
	for {
		m, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// once runs fn unless step is done, then records it.
func (w *work) once(ctx context.Context, step string, fn func() error) error {
	if w.done(step) {
		return nil
	}
	if err := fn(); err != nil {
		return err
	}
	return w.mark(ctx, step)
}

// deposit puts msg, unchanged, in folder of user's mailbox (PEC.md §11.3).
func (p *Provider) deposit(ctx context.Context, user, folder string, msg []byte, date time.Time) error {
	mb, err := p.cfg.Store.Mailbox(ctx, userName(user))
	if err != nil {
		return err
	}
	// Every certified message and receipt the holder sent or received is
	// also filed in the read-only Archive, where the store keeps one.
	if a, ok := mb.(mailbox.Archiver); ok {
		_, err = a.DeliverArchived(ctx, folder, bytes.NewReader(msg), 0, date)
		return err
	}
	_, err = mb.Deliver(ctx, folder, bytes.NewReader(msg), 0, date)
	return err
}

// record appends trace records, when there is a trace.
func (p *Provider) record(ctx context.Context, recs ...*trace.Record) error {
	if p.cfg.Trace == nil || len(recs) == 0 {
		return nil
	}
	return p.cfg.Trace.Append(ctx, recs...)
}

// emitted is the trace record of a message the provider emitted.
func (p *Provider) emitted(k pec.Kind, d *daticert.Data, msg []byte) *trace.Record {
	r, err := trace.FromMessage(k, d, msg)
	if err != nil {
		p.cfg.Logger.Warn("trace record", "kind", k, "err", err)
		return nil
	}
	return r
}

// notify emits a notice to the original sender, who is the provider's own
// user (the access point's notices: acceptance, non-acceptance, timeouts,
// non-delivery for virus): signed once (step), then deposited in the
// sender's INBOX and traced (step+".sent").
func (w *work) notify(ctx context.Context, step string, k pec.Kind, d *daticert.Data, build func() ([]byte, error)) error {
	msg, err := w.emit(ctx, step, build)
	if err != nil {
		return err
	}
	return w.once(ctx, step+".sent", func() error {
		if err := w.p.deposit(ctx, d.Sender, mailbox.Inbox, msg, d.Time); err != nil {
			return err
		}
		return w.p.record(ctx, nonNil(w.p.emitted(k, d, msg))...)
	})
}

func nonNil(recs ...*trace.Record) []*trace.Record {
	out := recs[:0]
	for _, r := range recs {
		if r != nil {
			out = append(out, r)
		}
	}
	return out
}

func lower(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = userName(s)
	}
	return out
}

func containsAddr(list []string, a string) bool {
	for _, x := range list {
		if strings.EqualFold(userName(x), userName(a)) {
			return true
		}
	}
	return false
}
