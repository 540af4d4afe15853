package provider

import (
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/emersion/go-message/mail"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/receipt"
	"github.com/pecsdk/pec/trace"
)

// transport plans the handling of a verified transport envelope for rcpts
// (PEC.md §11.2, §11.3): one presa in carico for the transaction to the
// sender provider's service mailbox; then, when the content carries a
// virus, a rilevazione virus per recipient and no delivery; else the deposit,
// unchanged, in each recipient's INBOX and the delivery receipt of the
// requested type, or the non-delivery (no-dest for an unknown mailbox).
func (w *work) transport(ctx context.Context, in *inbound, rcpts []string, pl *plan) error {
	p := w.p
	e := in.env
	d := e.Data
	rcpts, err := w.claim(ctx, d.ID, w.fresh(ctx, d.ID, rcpts))
	if err != nil || len(rcpts) == 0 {
		return err
	}
	pl.Claimed, pl.ID = rcpts, d.ID
	svc := in.signer.MailReceipt
	at := pec.Local(w.st.Item.Received)
	add := func(k pec.Kind, rd *daticert.Data, to, virus string, opts *receipt.Options) error {
		msg, err := p.build(k, rd, opts)
		if err != nil {
			return err
		}
		x, err := rd.Marshal()
		if err != nil {
			return err
		}
		pl.Out = append(pl.Out, outgoing{Kind: k, From: p.cfg.Address, To: []string{to}, Msg: msg, Data: x, Virus: virus})
		return nil
	}
	pic := receipt.NewData(pec.KindTakeInCharge, d, p.cfg.Name, at, rcpts, "")
	if err := add(pec.KindTakeInCharge, pic, svc, "", &receipt.Options{To: svc}); err != nil {
		return err
	}
	// Only the signed original is scanned: bytes outside the signature
	// (a header or a part anyone on the path may add) must never make
	// the providers certify a virus in someone's clean message.
	or, err := e.Original()
	if err != nil {
		return err
	}
	original, err := io.ReadAll(or)
	if err != nil {
		return err
	}
	virus, err := p.cfg.Scanner.Scan(ctx, original)
	if err != nil {
		return err
	}
	// Whether a recipient is only in Cc is read from the signed original,
	// not from the envelope's own header, which anyone may rewrite.
	origHeader, _ := e.PEC().OriginalHeader()
	for _, r := range rcpts {
		if virus != "" { // PEC.md §6.9
			vd := receipt.NewData(pec.KindVirusDetected, d, p.cfg.Name, at, []string{r}, virus)
			if err := add(pec.KindVirusDetected, vd, svc, virus, &receipt.Options{To: svc}); err != nil {
				return err
			}
			continue
		}
		ok, err := p.exists(ctx, r)
		if err != nil {
			return err
		}
		k, code, ext := pec.DeliveryKind(d.ReceiptType, isCopy(origHeader, r)), pec.ErrorCode(""), ""
		if ok {
			err := p.deposit(ctx, r, mailbox.Inbox, w.body, at)
			switch {
			case errors.Is(err, mailbox.ErrQuota): // PEC.md §6.8: the mailbox is full
				ok = false
				k, code, ext = pec.KindDeliveryError, pec.ErrorOther, "5.2.2 - "+p.cfg.Name+" - casella piena"
			case err != nil:
				return err
			}
		}
		if ok {
			if pl.Cert == nil {
				if pl.Cert, err = d.Marshal(); err != nil {
					return err
				}
			}
			pl.Placed = append(pl.Placed, r)
		} else if code == "" {
			k, code, ext = pec.KindDeliveryError, pec.ErrorNoDest, "5.1.1 - "+p.cfg.Name+" - casella inesistente"
		}
		rd := receipt.NewData(k, d, p.cfg.Name, pec.Local(p.cfg.Now()), []string{r}, ext)
		if code != "" {
			rd.Error = code
		}
		opts := &receipt.Options{}
		if k == pec.KindDelivery || k == pec.KindDeliveryShort {
			opts.Original = bytes.NewReader(original)
		}
		if err := add(k, rd, d.Sender, "", opts); err != nil {
			return err
		}
	}
	return nil
}

// fresh drops the recipients for whom the trace already shows a delivery
// outcome of this message: a genuine envelope replayed is not delivered
// twice and gets no second receipt.
func (w *work) fresh(ctx context.Context, id string, rcpts []string) []string {
	p := w.p
	if p.cfg.Trace == nil {
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
