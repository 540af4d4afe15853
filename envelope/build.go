package envelope

import (
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"github.com/pecsdk/pec/internal/pecmsg"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/smime"
)

// Options tune what Build and BuildAnomaly write. The zero value is right for
// most uses.
type Options struct {
	// HTML adds an HTML alternative of the body text.
	HTML bool
}

// dateLayout is the RFC 5322 date-time with numeric zone (PEC.md §10.2).
const dateLayout = "Mon, 2 Jan 2006 15:04:05 -0700"

// inherited lists the header fields an envelope copies unchanged from the
// original (PEC.md §6.1, §6.2).
var inherited = []string{"Return-Path", "Received"}

// Build writes to w the transport envelope of the original message read from
// original, certified by d and signed by s (PEC.md §6.1). d.Type must be
// posta-certificata; d.Time is the temporal reference used for the Date
// field, the body text and the signing time.
//
// The original's Message-ID is replaced by the PEC msgid (d.ID) and its
// client msgid kept in X-Riferimento-Message-ID (PEC.md §9). The original is
// streamed: it is never held in memory whole.
//
// Misuse is an error, never a panic: a nil signer gives ErrNoSigner, a nil
// original ErrNoOriginal, data that is not valid or contradicts the
// original ErrBadData.
func Build(w io.Writer, original io.Reader, d *daticert.Data, s *smime.Signer, opts *Options) error {
	if err := checkArgs(w, original, s); err != nil {
		return err
	}
	if d == nil || d.Type != pec.CertTransport {
		return fmt.Errorf("%w: tipo must be %s", ErrBadData, pec.CertTransport)
	}
	xml, err := d.Marshal()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadData, err)
	}
	orig, err := pecmsg.ReadOriginal(original)
	if err != nil {
		return err
	}
	oh := orig.Header
	if err := matchOriginal(d, mail.Header{Header: message.Header{Header: oh}}); err != nil {
		return err
	}
	var f pecmsg.Fields
	for _, k := range inherited {
		for _, v := range oh.Values(k) {
			f.AddRaw(k, v)
		}
	}
	f.Add("Date", pec.Local(d.Time).Format(dateLayout))
	f.Add("Subject", pec.Subject(pec.KindTransport, d.Subject))
	f.AddRaw("From", envelopeFrom(d.Sender, s))
	copyAddresses(&f, &oh, "To", "Cc")
	if rt := oh.Get("Reply-To"); rt != "" {
		f.AddRaw("Reply-To", rt)
	} else {
		f.AddRaw("Reply-To", d.Sender)
	}
	f.AddRaw("Message-ID", pec.BracketMsgID(d.ID))
	if d.MsgID != "" {
		f.AddRaw(pec.HeaderReference, pec.BracketMsgID(d.MsgID))
	}
	f.AddRaw(pec.HeaderTransport, string(pec.TransportCertified))
	if oh.Get(pec.HeaderReceiptType) != "" && d.ReceiptType != "" {
		f.AddRaw(pec.HeaderReceiptType, string(d.ReceiptType))
	}
	// The original as it travels: the PEC msgid replaces its Message-ID.
	oh.Set("Message-ID", pec.BracketMsgID(d.ID))
	if d.MsgID != "" && oh.Get(pec.HeaderReference) == "" {
		oh.Set(pec.HeaderReference, pec.BracketMsgID(d.MsgID))
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	td := textData(d)
	spec := &pecmsg.Spec{
		Header:      f.Header(),
		Text:        pec.Text(pec.KindTransport, td),
		CertData:    xml,
		Original:    func(w io.Writer) error { _, err := orig.WriteTo(w); return err },
		Orig8bit:    orig.Has8,
		SigningTime: d.Time,
	}
	if o.HTML {
		spec.HTML = pec.HTML(pec.KindTransport, td)
	}
	return pecmsg.Write(w, s, spec)
}

// matchOriginal checks that the certification data says what the
// original's header says: mittente is its From address, destinatari its
// To and Cc addresses (each once, in any order), oggetto its Subject. A
// transport envelope certifies the original: data that contradicts it
// would certify another message.
func matchOriginal(d *daticert.Data, h mail.Header) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %w: %s", ErrBadData, pec.ErrInconsistent, fmt.Sprintf(format, args...))
	}
	from := pecmsg.FromAddress(h.Header.Header)
	if !pec.EqualAddress(from, d.Sender) {
		return bad("mittente %q, the original's From is %q", d.Sender, from)
	}
	want := map[string]bool{}
	for _, a := range recipients(&h) {
		want[strings.ToLower(a)] = true
	}
	got := map[string]bool{}
	for _, r := range d.Recipients {
		a := strings.ToLower(r.Address)
		if !want[a] {
			return bad("destinatario %q is not in the original's To or Cc", r.Address)
		}
		got[a] = true
	}
	for a := range want {
		if !got[a] {
			return bad("the original's recipient %q is not among the destinatari", a)
		}
	}
	if subject, err := h.Subject(); err == nil && subject != d.Subject {
		return bad("oggetto %q, the original's Subject is %q", d.Subject, subject)
	}
	return nil
}

// NewData derives the certification data of a transport envelope from the
// header of the original message (PEC.md §8.2): mittente from From,
// destinatari from To and Cc, each typed certificato when certified
// reports it a PEC address (the provider index: index.Index.Domain) and
// esterno otherwise, risposte from Reply-To (else From), oggetto from
// Subject, msgid from Message-ID; provider, time and id (the PEC
// identificativo) as given, ricevuta as X-TipoRicevuta asks (completa by
// default). The original is not read past its header.
func NewData(h mail.Header, provider string, at time.Time, id string, certified func(address string) bool) (*daticert.Data, error) {
	from := pecmsg.FromAddress(h.Header.Header)
	if from == "" {
		return nil, fmt.Errorf("%w: the original has no single readable From address", ErrBadData)
	}
	d := &daticert.Data{
		Type:     pec.CertTransport,
		Error:    pec.ErrorNone,
		Sender:   from,
		ReplyTo:  from,
		Provider: provider,
		Time:     at,
		ID:       id,
	}
	if l, err := h.AddressList("Reply-To"); err == nil && len(l) > 0 {
		d.ReplyTo = l[0].Address
	}
	for _, a := range recipients(&h) {
		t := pec.RecipientExternal
		if certified != nil && certified(a) {
			t = pec.RecipientCertified
		}
		d.Recipients = append(d.Recipients, daticert.Recipient{Address: a, Type: t})
	}
	if len(d.Recipients) == 0 {
		return nil, fmt.Errorf("%w: the original has no To or Cc recipient", ErrBadData)
	}
	subject, err := h.Subject()
	if err != nil {
		subject = h.Get("Subject")
	}
	d.Subject = subject
	if id := strings.TrimSpace(h.Get("Message-Id")); id != "" {
		d.MsgID = pec.BracketMsgID(pec.NormalizeMsgID(id))
	}
	d.ReceiptType = pec.ReceiptFull
	if v := strings.TrimSpace(h.Get(pec.HeaderReceiptType)); v != "" {
		rt, err := pec.ParseReceiptType(v)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBadData, pec.HeaderReceiptType, err)
		}
		d.ReceiptType = rt
	}
	return d, nil
}

// checkArgs refuses the nil arguments a builder cannot do without, with
// an error rather than a panic further down.
func checkArgs(w io.Writer, original io.Reader, s *smime.Signer) error {
	switch {
	case w == nil:
		return fmt.Errorf("envelope: nil writer: %w", fs.ErrInvalid)
	case s == nil:
		return ErrNoSigner
	case len(s.Chain()) == 0:
		return fmt.Errorf("%w: %w", ErrNoSigner, smime.ErrNoCertificate)
	case original == nil:
		return fmt.Errorf("%w: none given", ErrNoOriginal)
	}
	return nil
}

func envelopeFrom(sender string, s *smime.Signer) string {
	a := mail.Address{Name: pec.EnvelopeFromName + sender, Address: s.Address()}
	return a.String()
}

func copyAddresses(f *pecmsg.Fields, h interface{ Get(string) string }, keys ...string) {
	for _, k := range keys {
		if v := h.Get(k); v != "" {
			f.AddRaw(k, v)
		}
	}
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

// Anomaly describes an anomaly envelope (PEC.md §6.2).
type Anomaly struct {
	Time   time.Time // arrival time: the Date field and the signing time
	Reason string    // why the message could not be certified, for the body text
	HTML   bool      // add an HTML alternative of the body text
}

// BuildAnomaly writes to w the anomaly envelope of the received message read
// from received, signed by s (PEC.md §6.2). The received message is attached
// unchanged; its Message-ID, To, Cc, Received and Return-Path fields are
// inherited; no certification data is attached.
//
// A nil signer gives ErrNoSigner, a nil received message ErrNoOriginal, a
// nil Anomaly or one without a Time ErrNoTime.
func BuildAnomaly(w io.Writer, received io.Reader, a *Anomaly, s *smime.Signer) error {
	if err := checkArgs(w, received, s); err != nil {
		return err
	}
	if a == nil || a.Time.IsZero() {
		return ErrNoTime
	}
	orig, err := pecmsg.ReadOriginal(received)
	if err != nil {
		return err
	}
	oh := orig.Header
	sender := pecmsg.FromAddress(oh)
	subject, err := (&mail.Header{Header: message.Header{Header: oh}}).Subject()
	if err != nil {
		subject = oh.Get("Subject")
	}
	var f pecmsg.Fields
	for _, k := range inherited {
		for _, v := range oh.Values(k) {
			f.AddRaw(k, v)
		}
	}
	f.Add("Date", pec.Local(a.Time).Format(dateLayout))
	f.Add("Subject", pec.Subject(pec.KindAnomaly, subject))
	f.AddRaw("From", envelopeFrom(sender, s))
	copyAddresses(&f, &oh, "To", "Cc")
	if rt := oh.Get("Reply-To"); rt != "" {
		f.AddRaw("Reply-To", rt)
	} else if sender != "" {
		f.AddRaw("Reply-To", sender)
	}
	if id := oh.Get("Message-Id"); id != "" {
		f.AddRaw("Message-ID", id)
	}
	f.AddRaw(pec.HeaderTransport, string(pec.TransportError))
	td := &pec.TextData{Time: a.Time, Subject: subject, Sender: sender, Error: a.Reason, ID: pec.NormalizeMsgID(oh.Get("Message-Id"))}
	for _, addr := range recipients(&oh) {
		td.Recipients = append(td.Recipients, pec.Recipient{Address: addr})
	}
	spec := &pecmsg.Spec{
		Header:      f.Header(),
		Text:        pec.Text(pec.KindAnomaly, td),
		Original:    func(w io.Writer) error { _, err := orig.WriteTo(w); return err },
		Orig8bit:    orig.Has8,
		SigningTime: a.Time,
	}
	if a.HTML {
		spec.HTML = pec.HTML(pec.KindAnomaly, td)
	}
	return pecmsg.Write(w, s, spec)
}

func recipients(h interface{ Get(string) string }) []string {
	var out []string
	for _, k := range []string{"To", "Cc"} {
		l, err := mail.ParseAddressList(h.Get(k))
		if err != nil {
			for _, p := range strings.Split(h.Get(k), ",") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
			continue
		}
		for _, a := range l {
			out = append(out, a.Address)
		}
	}
	return out
}
