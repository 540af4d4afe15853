package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/spool"
	"github.com/pecsdk/pec/trace"
)

// Steps of an incoming item.
const (
	stepPlan      = "plan"      // what was decided and signed, in one record
	stepDeposited = "deposited" // the anomaly envelope is in its recipients' mailboxes
	stepOut       = "out"       // the notices are sent (one step per destination)
)

// plan is what the incoming point decided about a message and the messages
// it signed for it (PEC.md §11.2, §11.3), recorded in one step so that one
// commit covers the decision and every signature, and a restart sends the
// same bytes.
type plan struct {
	Anomaly  []string   `json:"anomaly,omitempty"`  // the recipients of the anomaly envelope
	Envelope []byte     `json:"envelope,omitempty"` // the anomaly envelope, signed
	Reason   string     `json:"reason,omitempty"`   // why the message is not a valid PEC object for them
	Notice   bool       `json:"notice,omitempty"`   // a valid notice, deposited before the plan
	Out      []outgoing `json:"out,omitempty"`      // notices to the sender or its provider
	ID       string     `json:"id,omitempty"`       // the envelope's identificativo
	Claimed  []string   `json:"claimed,omitempty"`  // the recipients whose delivery this item claimed
	Cert     []byte     `json:"cert,omitempty"`     // the envelope's daticert.xml, for the trace
	Placed   []string   `json:"placed,omitempty"`   // the recipients whose INBOX got the envelope
}

// incoming processes what the incoming point spooled (PEC.md §11.2): per
// recipient, the transport envelope's delivery, the notice's deposit, or the
// anomaly envelope. Deposits of the received bytes, unchanged, come before
// the plan that follows from them (a delivery receipt is emitted after the
// deposit); deposits of what the provider signs come after.
func (w *work) incoming(ctx context.Context) error {
	p := w.p
	var in *inbound
	pl := &plan{}
	if w.done(stepPlan) {
		b, err := w.emit(ctx, stepPlan, nil)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, pl); err != nil {
			return err
		}
	} else {
		in = p.inspect(w.body)
		var good, bad []string
		for _, r := range w.st.Item.To {
			if why := in.reasonFor(p, r); why != "" {
				bad = append(bad, r)
				pl.Reason = why
			} else {
				good = append(good, r)
			}
		}
		if in.rec != nil && len(bad) == 0 { // a notice: nothing to sign
			return w.notice(ctx, in, good)
		}
		if err := w.decide(ctx, in, good, bad, pl); err != nil {
			return err
		}
		b, err := json.Marshal(pl)
		if err != nil {
			return err
		}
		if _, err := w.emit(ctx, stepPlan, func() ([]byte, error) { return b, nil }); err != nil {
			return err
		}
	}
	if len(pl.Envelope) > 0 {
		if err := w.once(ctx, stepDeposited, func() error {
			for _, r := range pl.Anomaly {
				ok, err := p.exists(ctx, r)
				if err != nil {
					return err
				}
				if ok { // no DSN for ordinary mail (PEC.md §11.3)
					if err := p.deposit(ctx, r, mailbox.Inbox, pl.Envelope, pec.Local(w.st.Item.Received)); err != nil {
						return err
					}
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if err := w.send(ctx, stepOut, pl.Out); err != nil {
		if errors.Is(err, errLater) {
			return nil
		}
		return err
	}
	var recs []*trace.Record
	if pl.Notice {
		if in == nil {
			in = p.inspect(w.body)
		}
		if in.rec != nil {
			recs = append(recs, p.received(in.rec.Kind, in.rec.Data))
			if err := p.apply(ctx, in); err != nil {
				return err
			}
		}
	}
	if len(pl.Placed) > 0 {
		d, err := daticert.Unmarshal(pl.Cert)
		if err != nil {
			return err
		}
		for _, r := range pl.Placed {
			rec := trace.FromData(trace.EventDelivered, trace.PointDelivery, d)
			rec.Delivery, rec.Time = r, pec.Local(w.st.Item.Received)
			recs = append(recs, rec)
		}
	}
	for _, o := range pl.Out {
		d, err := daticert.Unmarshal(o.Data)
		if err != nil {
			return err
		}
		rec := p.emitted(o.Kind, d, o.Msg)
		if rec != nil && o.Virus != "" {
			rec.Virus = o.Virus
		}
		recs = append(recs, rec)
	}
	if len(pl.Envelope) > 0 {
		if rec := p.emitted(pec.KindAnomaly, nil, pl.Envelope); rec != nil {
			rec.Provider = p.cfg.Name
			recs = append(recs, rec)
		}
	}
	if err := p.record(ctx, nonNil(recs...)...); err != nil {
		return err
	}
	if err := p.release(ctx, pl.ID, pl.Claimed); err != nil {
		return err
	}
	return p.cfg.Spool.Complete(ctx, w.st.Item.ID)
}

// decide fills the plan: the anomaly envelope for the recipients the
// message is not valid for, the deposit of a valid notice, the delivery of
// a valid transport envelope.
func (w *work) decide(ctx context.Context, in *inbound, good, bad []string, pl *plan) error {
	p := w.p
	if len(bad) > 0 {
		name, err := p.cfg.Scanner.Scan(ctx, w.body)
		if err != nil {
			return err
		}
		if name != "" {
			p.cfg.Logger.Warn("ordinary mail with a virus dropped", "id", w.st.Item.ID, "virus", name)
		} else {
			var b bytes.Buffer
			a := &envelope.Anomaly{Time: pec.Local(w.st.Item.Received), Reason: pl.Reason}
			if err := envelope.BuildAnomaly(&b, bytes.NewReader(w.body), a, p.cfg.Signer); err != nil {
				return err
			}
			pl.Anomaly, pl.Envelope = bad, b.Bytes()
		}
	}
	switch {
	case len(good) == 0:
	case in.rec != nil:
		for _, t := range good {
			if err := p.deposit(ctx, t, mailbox.Inbox, w.body, pec.Local(w.st.Item.Received)); err != nil {
				return err
			}
		}
		pl.Notice = true
	case in.env != nil:
		return w.transport(ctx, in, good, pl)
	}
	return nil
}

// exists reports whether a mailbox can receive: an account, or the service
// mailbox.
func (p *Provider) exists(ctx context.Context, addr string) (bool, error) {
	if p.cfg.ServiceMailbox != "" && userName(addr) == userName(p.cfg.ServiceMailbox) {
		return true, nil
	}
	return p.cfg.Users.Exists(ctx, addr)
}

// notice deposits a verified notice, unchanged, in the mailboxes it is
// addressed to (PEC.md §11.3), traces it and applies it to the sent message
// it is about, where the time limits of the access point see it. A crash
// before the item is completed deposits it again: the same bytes.
func (w *work) notice(ctx context.Context, in *inbound, rcpts []string) error {
	p := w.p
	for _, t := range rcpts {
		if err := p.deposit(ctx, t, mailbox.Inbox, w.body, pec.Local(w.st.Item.Received)); err != nil {
			return err
		}
	}
	if err := p.record(ctx, p.received(in.rec.Kind, in.rec.Data)); err != nil {
		return err
	}
	if err := p.apply(ctx, in); err != nil {
		return err
	}
	return p.cfg.Spool.Complete(ctx, w.st.Item.ID)
}

// received is the trace record of a notice that reached the provider.
func (p *Provider) received(k pec.Kind, d *daticert.Data) *trace.Record {
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
		if st.Done(prefix + userName(n)) {
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
