package receipt

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/pecsdk/pec/internal/pecmsg"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/smime"
)

// Options complete what Build needs beyond the kind and the certification
// data. Which fields matter depends on the kind.
type Options struct {
	// To is the recipient of the receipt. Empty means the original sender
	// (daticert mittente), which is right for every kind except presa in
	// carico and rilevazione virus: those go to the sender provider's
	// service mailbox, the mailReceipt of the provider index (PEC.md §6.6,
	// §6.9), and To is then required.
	To string
	// Original is the original message as deposited (the postacert.eml of
	// the transport envelope), required by the completa and breve delivery
	// receipts. The breve receipt replaces its attachments by their hashes.
	Original io.Reader
	// MessageID is the receipt's own Message-ID, without angle brackets.
	// Empty means a new one in the domain of the signer's address.
	MessageID string
	// HTML adds an HTML alternative of the body text.
	HTML bool
}

const dateLayout = "Mon, 2 Jan 2006 15:04:05 -0700" // RFC 5322 (PEC.md §10.2)

// Build writes to w the receipt or notice of kind k with certification data
// d, signed by s (PEC.md §6.3–§6.11). d.Type must be the one of the kind
// (k.CertType()), and d.Error the one the rules fix for it, if any;
// d.Time is the temporal reference: the Date field, the body text and the
// signing time. Use NewData to derive d from the transport envelope's data.
//
// Misuse is an error, never a panic: a nil signer gives ErrNoSigner, data
// that is not valid for k ErrBadData, a missing original ErrNeedOriginal.
func Build(w io.Writer, k pec.Kind, d *daticert.Data, s *smime.Signer, opts *Options) error {
	var o Options
	if opts != nil {
		o = *opts
	}
	switch {
	case w == nil:
		return fmt.Errorf("receipt: nil writer: %w", fs.ErrInvalid)
	case s == nil:
		return ErrNoSigner
	case len(s.Chain()) == 0:
		return fmt.Errorf("%w: %w", ErrNoSigner, smime.ErrNoCertificate)
	}
	if err := check(k, d, &o); err != nil {
		return err
	}
	xml, err := d.Marshal()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadData, err)
	}
	to := o.To
	if to == "" {
		to = d.Sender
	}
	id := o.MessageID
	if id == "" {
		id = pec.NewMsgID(pec.Domain(s.Address()), d.Time)
	}
	var f pecmsg.Fields
	f.Add("Date", pec.Local(d.Time).Format(dateLayout))
	f.Add("Subject", pec.Subject(k, d.Subject))
	f.AddRaw("From", s.Address())
	f.AddRaw("To", to)
	f.AddRaw("Message-ID", pec.BracketMsgID(id))
	if d.MsgID != "" {
		f.AddRaw(pec.HeaderReference, pec.BracketMsgID(d.MsgID))
	}
	f.AddRaw(pec.HeaderReceipt, string(k.Notice()))
	if k.SecurityError() {
		f.AddRaw(pec.HeaderSecurityCheck, pec.SecurityCheckError)
	}
	if k == pec.KindVirusDetected {
		f.AddRaw(pec.HeaderOriginalSender, d.Sender)
	}
	td := textData(d)
	spec := &pecmsg.Spec{
		Header:      f.Header(),
		Text:        pec.Text(k, td),
		CertData:    xml,
		SigningTime: d.Time,
	}
	if o.HTML {
		spec.HTML = pec.HTML(k, td)
	}
	switch k {
	case pec.KindDelivery:
		orig, err := pecmsg.ReadOriginal(o.Original)
		if err != nil {
			return err
		}
		spec.Original = func(w io.Writer) error { _, err := orig.WriteTo(w); return err }
		spec.Orig8bit = orig.Has8
	case pec.KindDeliveryShort:
		src, size, err := pecmsg.Source(o.Original)
		if err != nil {
			return err
		}
		var brief bytes.Buffer
		if err := pecmsg.WriteBrief(&brief, src, size); err != nil {
			return err
		}
		spec.Original = func(w io.Writer) error { _, err := w.Write(brief.Bytes()); return err }
		spec.Orig8bit = bytes.ContainsFunc(brief.Bytes(), func(r rune) bool { return r >= 0x80 })
	}
	return pecmsg.Write(w, s, spec)
}

func check(k pec.Kind, d *daticert.Data, o *Options) error {
	switch {
	case !k.IsReceipt():
		return fmt.Errorf("%w: %s is not a receipt or notice", ErrBadData, k)
	case d == nil:
		return fmt.Errorf("%w: no certification data", ErrBadData)
	case d.Type != k.CertType():
		return fmt.Errorf("%w: tipo %q, %s needs %q", ErrBadData, d.Type, k, k.CertType())
	case k.ErrorCode() != "" && d.Error != k.ErrorCode() && !(d.Error == "" && k.ErrorCode() == pec.ErrorNone):
		return fmt.Errorf("%w: errore %q, %s needs %q", ErrBadData, d.Error, k, k.ErrorCode())
	case (k == pec.KindDelivery || k == pec.KindDeliveryShort) && o.Original == nil:
		return fmt.Errorf("%w (%s)", ErrNeedOriginal, k)
	case (k == pec.KindTakeInCharge || k == pec.KindVirusDetected) && o.To == "":
		return fmt.Errorf("%w (%s)", ErrNeedTo, k)
	case k == pec.KindTakeInCharge && len(d.Receipts) == 0:
		return fmt.Errorf("%w: presa in carico without ricezione", ErrBadData)
	case needsDelivery(k) && d.Delivery == "":
		return fmt.Errorf("%w: %s without consegna", ErrBadData, k)
	case k == pec.KindDeliveryError && (d.Error == "" || d.Error == pec.ErrorNone):
		return fmt.Errorf("%w: %s without an explicit errore (no-dest, no-dominio, altro, …)", ErrBadData, k)
	case needsDelivery(k) && !isRecipient(d, d.Delivery):
		return fmt.Errorf("%w: %w: %s for %s, who is not among the destinatari", ErrBadData, pec.ErrInconsistent, k, d.Delivery)
	}
	return nil
}

// isRecipient reports whether addr is one of the destinatari of d,
// compared as PEC addresses are (domain without case).
func isRecipient(d *daticert.Data, addr string) bool {
	for _, r := range d.Recipients {
		if pec.EqualAddress(r.Address, addr) {
			return true
		}
	}
	return false
}

func needsDelivery(k pec.Kind) bool {
	return k.IsDelivery() || k.IsTimeout() || k == pec.KindDeliveryError ||
		k == pec.KindDeliveryErrorVirus || k == pec.KindVirusDetected
}

func textData(d *daticert.Data) *pec.TextData {
	td := &pec.TextData{
		Time:      d.Time,
		Subject:   d.Subject,
		Sender:    d.Sender,
		Recipient: d.Delivery,
		Error:     d.ExtendedError,
		ID:        d.ID,
	}
	for _, r := range d.Recipients {
		td.Recipients = append(td.Recipients, pec.Recipient{Address: r.Address, Type: r.Type})
	}
	return td
}

// NewData derives the certification data of a receipt of kind k from the
// data of the transport envelope it concerns (PEC.md §8.2): the header data
// and identifiers are copied; type, error code, provider and time are set;
// ricevuta is kept for delivery receipts only. recipient is the consegna
// address for the kinds that name one recipient (PEC.md §11.4) and the
// ricezione list for presa in carico; extended is errore-esteso. A nil env
// gives nil, which Build refuses with ErrBadData.
func NewData(k pec.Kind, env *daticert.Data, provider string, at time.Time, recipients []string, extended string) *daticert.Data {
	if env == nil {
		return nil
	}
	d := &daticert.Data{
		Type:          k.CertType(),
		Error:         k.ErrorCode(),
		Sender:        env.Sender,
		Recipients:    append([]daticert.Recipient(nil), env.Recipients...),
		ReplyTo:       env.ReplyTo,
		Subject:       env.Subject,
		Provider:      provider,
		Time:          at,
		ID:            env.ID,
		MsgID:         env.MsgID,
		ExtendedError: extended,
	}
	if d.Error == "" {
		d.Error = pec.ErrorOther // PEC.md §17 item 12: not fixed by the rules
	}
	switch {
	case k.IsDelivery():
		d.ReceiptType = env.ReceiptType
		if d.ReceiptType == "" {
			d.ReceiptType = pec.ReceiptFull
		}
	case k == pec.KindAcceptance:
		d.ReceiptType = env.ReceiptType
	}
	if k == pec.KindTakeInCharge {
		d.Receipts = append([]string(nil), recipients...)
	} else if len(recipients) > 0 {
		d.Delivery = recipients[0]
	}
	return d
}
