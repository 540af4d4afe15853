package provider

import (
	"bytes"
	"context"
	"errors"
	"strings"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/spool"
	"github.com/pecsdk/pec/trace"
)

// Steps of an incoming item.
const (
	stepClass   = "class"   // the decision taken, kept so that a restart takes the same
	stepTaking  = "taking"  // the presa in carico (PEC.md §6.6)
	stepAnomaly = "anomaly" // the anomaly envelope (PEC.md §6.2)
	stepApply   = "apply"   // the notice applied to the sent message it is about
)

// incoming processes what the incoming point spooled (PEC.md §11.2): per
// recipient, the transport envelope's delivery, the notice's deposit, or the
// anomaly envelope.
func (w *work) incoming(ctx context.Context) error {
	p := w.p
	in := p.inspect(w.body)
	class, err := w.emit(ctx, stepClass, func() ([]byte, error) {
		var b strings.Builder
		for _, r := range w.st.Item.To {
			b.WriteString(userName(r) + "\t" + in.reasonFor(p, r) + "\n")
		}
		return []byte(b.String()), nil
	})
	if err != nil {
		return err
	}
	var good, bad []string
	reason := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(string(class), "\n"), "\n") {
		addr, why, _ := strings.Cut(line, "\t")
		if why == "" {
			good = append(good, addr)
		} else {
			bad = append(bad, addr)
			reason[addr] = why
		}
	}
	if len(good) > 0 && in.env == nil && in.rec == nil {
		// decided valid before a restart, no longer verifiable now (the
		// index changed): what was decided stands, with the data read
		// without trust
		in = p.inspectUntrusted(w.body)
		if in.env == nil && in.rec == nil {
			bad, good = append(bad, good...), nil
		}
	}
	var later bool
	note := func(err error) error {
		if errors.Is(err, errLater) {
			later = true
			return nil
		}
		return err
	}
	if len(good) > 0 {
		switch {
		case in.env != nil:
			err = note(w.transport(ctx, in, good))
		case in.rec != nil:
			err = note(w.notice(ctx, in, good))
		}
		if err != nil {
			return err
		}
	}
	if len(bad) > 0 {
		if err := note(w.anomaly(ctx, bad, reason[bad[0]])); err != nil {
			return err
		}
	}
	if later {
		return nil
	}
	return p.cfg.Spool.Complete(ctx, w.st.Item.ID)
}

// inspectUntrusted reads the message as inspect does, with integrity only.
func (p *Provider) inspectUntrusted(body []byte) *inbound {
	in := &inbound{}
	if e, err := envelope.Parse(bytes.NewReader(body), nil); err == nil && e.Data != nil && e.Signature != nil && e.Signature.Intact {
		in.env = e
	}
	return in
}

// anomaly delivers the message to rcpts in an anomaly envelope (PEC.md
// §6.2): what is not a valid PEC object, and ordinary mail. Ordinary mail
// carrying a virus is dropped (PEC.md §11.2).
func (w *work) anomaly(ctx context.Context, rcpts []string, why string) error {
	p := w.p
	if !w.done(stepAnomaly) {
		name, err := p.cfg.Scanner.Scan(ctx, w.body)
		if err != nil {
			return err
		}
		if name != "" {
			p.cfg.Logger.Warn("ordinary mail with a virus dropped", "id", w.st.Item.ID, "virus", name)
			return nil
		}
	}
	at := pec.Local(w.st.Item.Received)
	msg, err := w.emit(ctx, stepAnomaly, func() ([]byte, error) {
		var b bytes.Buffer
		err := envelope.BuildAnomaly(&b, bytes.NewReader(w.body), &envelope.Anomaly{Time: at, Reason: why}, p.cfg.Signer)
		return b.Bytes(), err
	})
	if err != nil {
		return err
	}
	for _, r := range rcpts {
		if err := w.once(ctx, "deposit:"+r, func() error {
			ok, err := p.exists(ctx, r)
			if err != nil || !ok {
				return err // no DSN for ordinary mail (PEC.md §11.3)
			}
			return p.deposit(ctx, r, mailbox.Inbox, msg, at)
		}); err != nil {
			return err
		}
	}
	return w.once(ctx, stepAnomaly+".trace", func() error {
		rec := p.emitted(pec.KindAnomaly, nil, msg)
		if rec != nil {
			rec.Provider = p.cfg.Name
		}
		return p.record(ctx, nonNil(rec)...)
	})
}

// exists reports whether a mailbox can receive: an account, or the service
// mailbox.
func (p *Provider) exists(ctx context.Context, addr string) (bool, error) {
	if p.cfg.ServiceMailbox != "" && userName(addr) == userName(p.cfg.ServiceMailbox) {
		return true, nil
	}
	return p.cfg.Users.Exists(ctx, addr)
}

// notice deposits a verified notice, unchanged, in the mailbox it is
// addressed to, and applies it to the sent message it is about (PEC.md
// §11.3): the time limits of the access point then see it.
func (w *work) notice(ctx context.Context, in *inbound, rcpts []string) error {
	p := w.p
	r := in.rec
	for _, t := range rcpts {
		if err := w.once(ctx, "deposit:"+t, func() error {
			return p.deposit(ctx, t, mailbox.Inbox, w.body, pec.Local(w.st.Item.Received))
		}); err != nil {
			return err
		}
	}
	return w.once(ctx, stepApply, func() error {
		if err := p.record(ctx, nonNil(p.received(r.Kind, r.Data, w.body))...); err != nil {
			return err
		}
		return p.apply(ctx, in)
	})
}

// received is the trace record of a notice that reached the provider.
func (p *Provider) received(k pec.Kind, d *daticert.Data, msg []byte) *trace.Record {
	rec := trace.FromData(trace.EventReceived, trace.PointIncoming, d)
	rec.Kind = k
	return rec
}

// apply records on the sent message's spool item what a notice says of one
// of its certified recipients, when the notice is about that message (its
// identificativo, its sender) and comes from the provider of that
// recipient's domain.
func (p *Provider) apply(ctx context.Context, in *inbound) error {
	r := in.rec
	d := r.Data
	id := accessID(d.ID)
	st, err := p.cfg.Spool.Get(ctx, id)
	if errors.Is(err, spool.ErrNotFound) {
		return nil // not followed (any more)
	}
	if err != nil {
		return err
	}
	if st.Item.Meta["id"] != d.ID || userName(st.Item.From) != userName(d.Sender) {
		p.cfg.Logger.Warn("notice does not match the sent message", "id", d.ID, "mittente", d.Sender)
		return nil
	}
	w := &work{p: p, st: st}
	c, err := w.checkedOnly()
	if err != nil {
		return err
	}
	var prefix string
	names := []string{d.Delivery}
	switch r.Kind {
	case pec.KindTakeInCharge:
		prefix, names = stepTaken, d.Receipts
	case pec.KindVirusDetected:
		prefix = stepVirus
		if d.Delivery == "" {
			names = d.Receipts // PEC.md §17 item 21
		}
	case pec.KindDelivery, pec.KindDeliveryShort, pec.KindDeliverySummary, pec.KindDeliveryError:
		prefix = stepFinal
	default:
		return nil
	}
	kicked := false
	for _, n := range names {
		if n == "" || !containsAddr(c.certified(), n) || !manages(in.signer, n) {
			p.cfg.Logger.Warn("notice names a recipient it may not speak for", "id", d.ID, "recipient", n, "signer", in.signer.Name)
			continue
		}
		if err := p.cfg.Spool.Done(ctx, id, prefix+userName(n), nil); err != nil && !errors.Is(err, spool.ErrNotFound) {
			return err
		}
		kicked = true
	}
	if kicked {
		p.kick(id)
	}
	return nil
}
