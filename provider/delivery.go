package provider

import (
	"bytes"
	"context"
	"io"

	"github.com/emersion/go-message/mail"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/receipt"
	"github.com/pecsdk/pec/trace"
)

// transport handles a verified transport envelope for rcpts (PEC.md §11.2,
// §11.3): one presa in carico for the transaction to the sender provider's
// service mailbox, then, when the content carries a virus, a rilevazione
// virus per recipient and no delivery; else the delivery of each recipient.
func (w *work) transport(ctx context.Context, in *inbound, rcpts []string) error {
	p := w.p
	d := in.env.Data
	rcpts = w.fresh(ctx, d.ID, rcpts)
	if len(rcpts) == 0 {
		return nil
	}
	svc := in.signer.MailReceipt
	at := pec.Local(w.st.Item.Received)
	pic := receipt.NewData(pec.KindTakeInCharge, d, p.cfg.Name, at, rcpts, "")
	msg, err := w.emit(ctx, stepTaking, func() ([]byte, error) {
		return p.build(pec.KindTakeInCharge, pic, &receipt.Options{To: svc})
	})
	if err != nil {
		return err
	}
	later := w.dispatch(ctx, stepTaking, p.cfg.Address, []string{svc}, msg)
	if later != nil && later != errLater {
		return later
	}
	if err := w.once(ctx, stepTaking+".trace", func() error {
		return p.record(ctx, nonNil(p.emitted(pec.KindTakeInCharge, pic, msg))...)
	}); err != nil {
		return err
	}
	virus, err := w.emit(ctx, "scan", func() ([]byte, error) {
		name, err := p.cfg.Scanner.Scan(ctx, w.body)
		return []byte(name), err
	})
	if err != nil {
		return err
	}
	for _, r := range rcpts {
		var err error
		if len(virus) > 0 {
			err = w.virusDetected(ctx, d, svc, r, string(virus))
		} else {
			err = w.deliver(ctx, in.env, r)
		}
		if err == errLater {
			later = errLater
		} else if err != nil {
			return err
		}
	}
	return later
}

// fresh drops the recipients for whom the trace already shows a delivery
// outcome of this message, made by another spool item: a genuine envelope
// replayed is not delivered twice and gets no second receipt.
func (w *work) fresh(ctx context.Context, id string, rcpts []string) []string {
	p := w.p
	if p.cfg.Trace == nil || w.done(stepTaking) {
		return rcpts
	}
	var out []string
	for _, r := range rcpts {
		recs, err := p.cfg.Trace.Query(ctx, trace.Query{MsgID: id, Address: r})
		replay := false
		for _, rec := range recs {
			if err == nil && rec.Point == trace.PointDelivery && (rec.Event == trace.EventDelivery || rec.Event == trace.EventNonDelivery) &&
				userName(rec.Delivery) == userName(r) {
				replay = true
			}
		}
		if replay {
			p.cfg.Logger.Warn("transport envelope delivered before: not delivered again", "id", id, "recipient", r)
			continue
		}
		out = append(out, r)
	}
	return out
}

// virusDetected sends the rilevazione virus about recipient r to the sender
// provider's service mailbox (PEC.md §6.9).
func (w *work) virusDetected(ctx context.Context, d *daticert.Data, svc, r, name string) error {
	p := w.p
	step := "virus:" + userName(r)
	vd := receipt.NewData(pec.KindVirusDetected, d, p.cfg.Name, pec.Local(w.st.Item.Received), []string{r}, name)
	msg, err := w.emit(ctx, step, func() ([]byte, error) {
		return p.build(pec.KindVirusDetected, vd, &receipt.Options{To: svc})
	})
	if err != nil {
		return err
	}
	later := w.dispatch(ctx, step, p.cfg.Address, []string{svc}, msg)
	if later != nil && later != errLater {
		return later
	}
	if err := w.once(ctx, step+".trace", func() error {
		rec := p.emitted(pec.KindVirusDetected, vd, msg)
		if rec != nil {
			rec.Virus = name
		}
		return p.record(ctx, nonNil(rec)...)
	}); err != nil {
		return err
	}
	return later
}

// deliver deposits the envelope, unchanged, in r's INBOX and sends the
// delivery receipt of the requested type, or the non-delivery (no-dest for
// an unknown mailbox), to the original sender (PEC.md §6.7, §6.8).
func (w *work) deliver(ctx context.Context, e *envelope.Envelope, r string) error {
	p := w.p
	d := e.Data
	key := userName(r)
	step := "receipt:" + key
	if !w.done(step) {
		ok, err := p.exists(ctx, r)
		if err != nil {
			return err
		}
		if ok {
			if err := w.once(ctx, "deposit:"+key, func() error {
				return p.deposit(ctx, r, mailbox.Inbox, w.body, pec.Local(w.st.Item.Received))
			}); err != nil {
				return err
			}
		}
	}
	k, code, ext := pec.DeliveryKind(d.ReceiptType, isCopy(e.Header, r)), pec.ErrorCode(""), ""
	if !w.done("deposit:" + key) {
		k, code, ext = pec.KindDeliveryError, pec.ErrorNoDest, "5.1.1 - "+p.cfg.Name+" - casella inesistente"
	}
	at := pec.Local(w.now)
	rd := receipt.NewData(k, d, p.cfg.Name, at, []string{r}, ext)
	if code != "" {
		rd.Error = code
	}
	msg, err := w.emit(ctx, step, func() ([]byte, error) {
		opts := &receipt.Options{}
		if k == pec.KindDelivery || k == pec.KindDeliveryShort {
			or, err := e.Original()
			if err != nil {
				return nil, err
			}
			orig, err := io.ReadAll(or)
			if err != nil {
				return nil, err
			}
			opts.Original = bytes.NewReader(orig)
		}
		return p.build(k, rd, opts)
	})
	if err != nil {
		return err
	}
	later := w.dispatch(ctx, step, p.cfg.Address, []string{d.Sender}, msg)
	if later != nil && later != errLater {
		return later
	}
	if err := w.once(ctx, step+".trace", func() error {
		return p.record(ctx, nonNil(p.emitted(k, rd, msg))...)
	}); err != nil {
		return err
	}
	return later
}

// isCopy reports whether r is only a Cc recipient of the envelope (whose To
// and Cc are the original's): it gets a sintetica receipt (PEC.md §6.7).
// A recipient in both, or in neither, is primary.
func isCopy(h mail.Header, r string) bool {
	in := func(f string) bool {
		as, err := h.AddressList(f)
		if err != nil {
			return false
		}
		for _, a := range as {
			if userName(a.Address) == userName(r) {
				return true
			}
		}
		return false
	}
	return in("Cc") && !in("To")
}
