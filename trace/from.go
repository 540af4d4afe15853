package trace

import (
	"bytes"
	"fmt"
	"mime"
	"net/mail"
	"strings"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
)

// FromMessage returns the record of emitting msg: the signed bytes of a
// PEC message of kind k (a receipt, notice or envelope, as built by
// receipt.Build or envelope.Build, or as received and parsed), kept inline
// so that Store.Reissue returns them unchanged. d is its certification
// data; nil for the anomaly envelope, which has none, and whose record is
// then read from its header. The Message-ID of msg is the record's
// Generated identifier; the Point is the one that emits k.
//
// Fields the certification data does not hold (QueueID, Virus, and the
// Provider of an anomaly envelope) are the caller's to add before Append.
func FromMessage(k pec.Kind, d *daticert.Data, msg []byte) (*Record, error) {
	if !k.Valid() {
		return nil, &FieldError{"Kind", fmt.Sprintf("%d is not a catalogue kind", int(k))}
	}
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		return nil, fmt.Errorf("trace: reading the header of the %s: %w", k, err)
	}
	id := pec.NormalizeMsgID(m.Header.Get("Message-ID"))
	if id == "" {
		return nil, &FieldError{"Generated", fmt.Sprintf("the %s has no Message-ID", k)}
	}
	var r *Record
	if d != nil {
		r = FromData(KindEvent(k), kindPoint(k), d)
	} else {
		r = fromHeader(m.Header)
		r.Point, r.Event = kindPoint(k), KindEvent(k)
	}
	r.Kind = k
	r.Generated = []string{id}
	r.Message = bytes.Clone(msg)
	return r, nil
}

// FromData returns the record of event e at point p about the message
// whose certification data is d (the data of its transport envelope, or of
// a notice about it): for the events that emit nothing (EventReceived,
// EventDelivered, EventForwarded) or whose message the caller adds. Its
// Time is d's.
func FromData(e Event, p Point, d *daticert.Data) *Record {
	r := &Record{
		Time:          d.Time,
		Point:         p,
		Event:         e,
		MsgID:         pec.NormalizeMsgID(d.ID),
		ClientMsgID:   pec.NormalizeMsgID(d.MsgID),
		Sender:        d.Sender,
		Recipients:    append([]pec.Recipient(nil), d.Recipients...),
		Subject:       d.Subject,
		Provider:      d.Provider,
		ReceiptType:   d.ReceiptType,
		Delivery:      d.Delivery,
		Reception:     strings.Join(d.Receipts, ", "),
		ErrorExtended: d.ExtendedError,
	}
	if d.Error != pec.ErrorNone {
		r.Error = d.Error
	}
	return r
}

// fromHeader reads what an anomaly envelope says of the message it
// carries (PEC.md §6.2): the original Message-ID, inherited unchanged,
// the original sender in Reply-To, the recipients in To and Cc, the
// subject after its prefix, the arrival time in Date.
func fromHeader(h mail.Header) *Record {
	r := &Record{ClientMsgID: pec.NormalizeMsgID(h.Get("Message-ID"))}
	if t, err := h.Date(); err == nil {
		r.Time = t
	}
	if a, err := mail.ParseAddress(h.Get("Reply-To")); err == nil {
		r.Sender = a.Address
	}
	for _, f := range []string{"To", "Cc"} {
		if l, err := h.AddressList(f); err == nil {
			for _, a := range l {
				r.Recipients = append(r.Recipients, pec.Recipient{Address: a.Address})
			}
		}
	}
	subj := h.Get("Subject")
	if dec, err := new(mime.WordDecoder).DecodeHeader(subj); err == nil {
		subj = dec
	}
	_, r.Subject, _ = pec.SplitSubject(subj)
	return r
}

// kindPoint is the point that emits a message of kind k (PEC.md §5).
func kindPoint(k pec.Kind) Point {
	switch k {
	case pec.KindAnomaly, pec.KindTakeInCharge, pec.KindVirusDetected:
		return PointIncoming
	case pec.KindDelivery, pec.KindDeliveryShort, pec.KindDeliverySummary, pec.KindDeliveryError:
		return PointDelivery
	}
	return PointAccess
}
