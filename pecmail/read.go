package pecmail

import (
	"errors"
	"io"
	"sync/atomic"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"github.com/pecsdk/pec/internal/mimeutil"
	"github.com/pecsdk/pec/internal/pecmsg"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/smime"
)

// Message is a message read by Read: a PEC message, or ordinary mail.
type Message struct {
	// Kind is the kind of the message: the one its signed content
	// establishes, else the one its header fields claim (see OK).
	// pec.KindUnknown for ordinary mail, and for a PEC message whose
	// kind cannot be told (the reason is in Problems).
	Kind pec.Kind
	// Wrapped reports a PEC message found inside another message
	// (ordinary mail forwarding or archiving it): this message is
	// certified, not the one around it.
	Wrapped bool
	// Data is the certification data (daticert.xml), read once; nil for
	// ordinary mail, an anomaly envelope, or when missing or unreadable.
	Data *daticert.Data
	// Signature is the verdict on the S/MIME signature; nil when the
	// message is not signed, and for ordinary mail.
	Signature *smime.Verdict
	// Hashes are the attachments of the original replaced by their hash
	// in a delivery receipt of type breve (PEC.md §6.7).
	Hashes []Hash
	// Problems lists what is wrong or missing, typed (see
	// pec.ParseError); Deviations the tolerated departures from the rules.
	Problems   []error
	Deviations []string
	// Forwarded is, for ordinary mail, the PEC message found inside it
	// (a forwarded or archived .eml), read in the same pass; nil when
	// there is none. It never makes the mail around it PEC (PEC.md
	// §15.3).
	Forwarded *Message

	msg    *pecmsg.Message
	part   *mimeutil.Part              // the entity m describes
	header atomic.Pointer[mail.Header] // Header, made on first use
}

// Hash is an attachment of the original replaced by its hash in a delivery
// receipt of type breve (PEC.md §6.7).
type Hash struct {
	Name string // the attachment name, without the .hash suffix
	Hex  string // lower-case hexadecimal SHA-1 (40 digits) or SHA-256 (64)
}

// Certified is what envelopes, receipts and Messages have in common:
// *Message, *envelope.Envelope and *receipt.Receipt implement it, each a
// view of one reading of the message.
type Certified interface {
	// PEC returns the PEC message as read: its kind, certification data,
	// signature verdict, problems and deviations.
	PEC() *Message
	// OK reports whether the message may be relied on as the PEC
	// message it claims to be (see Message.OK).
	OK() bool
	// Err returns the problems (and, for a failure notice, the failure
	// it reports) joined, or nil.
	Err() error
	// HasOriginal reports whether the original message is carried.
	HasOriginal() bool
	// Original returns the original message's RFC 5322 bytes as carried.
	Original() (io.Reader, error)
	// Attachments lists the files attached to the original message.
	Attachments() ([]*Attachment, error)
}

var _ Certified = (*Message)(nil)

// Read reads one message from r and says what it is. When r is a
// *bytes.Reader, *strings.Reader, *io.SectionReader, or an *os.File of
// more than 4 MiB, it is read in place, from its current position (which
// does not move): only headers, the certification data and the signature
// are held in memory, bodies and attachments are read from r when
// opened, so r must stay readable while the Message is used. A smaller
// file is read into memory with one read (read in place, a message costs
// dozens of small reads), and any other reader into memory once, up to
// 1 GiB.
//
// opts says how to judge the signature (nil: integrity only, and OK is
// false); see smime.VerifyOptions. The signature is verified once, here.
//
// Ordinary mail is not an error: Kind is pec.KindUnknown, IsPEC false, and
// Forwarded holds a PEC message found inside it. A PEC message with
// defects is not an error either: they are in Problems. The error is for
// input that cannot be read as a message at all (empty, over a limit,
// unreadable).
func Read(r io.Reader, opts *smime.VerifyOptions) (*Message, error) {
	src, size, err := pecmsg.Source(r)
	if err != nil {
		return nil, err
	}
	p, err := pecmsg.Parse(src, size, opts)
	if err != nil {
		return nil, err
	}
	if p.Part == nil {
		return &Message{msg: p, part: p.Root}, nil
	}
	m := &Message{
		Kind:       p.Kind,
		Wrapped:    p.Wrapped,
		Data:       p.Data,
		Signature:  p.Signature,
		Problems:   p.Problems,
		Deviations: p.Deviations,
		msg:        p,
		part:       p.Part,
	}
	for _, h := range p.Hashes {
		m.Hashes = append(m.Hashes, Hash{Name: h.Name, Hex: h.Hex})
	}
	if !p.Wrapped {
		return m, nil
	}
	// Ordinary mail forwarding a PEC message: the mail is what was read.
	return &Message{Forwarded: m, msg: p, part: p.Root}, nil
}

// Header returns the message's own header, outside any signature: field
// values as carried (mail.Header decodes RFC 2047 words on request). It
// is made on the first call, from the fields Read kept, and every later
// call returns the same one, so that a reader that never asks for it
// does not pay for it. It is shared (with the Header of the
// envelope.Envelope or receipt.Receipt of m too): read it, and Copy it
// to change it; reading it from several goroutines is safe. Nothing in
// it is signed: for what the provider certified, read Data, Subject and
// OriginalHeader.
func (m *Message) Header() *mail.Header {
	if h := m.header.Load(); h != nil {
		return h
	}
	m.header.CompareAndSwap(nil, &mail.Header{Header: message.Header{Header: m.part.Header()}})
	return m.header.Load()
}

// IsPEC reports whether m is a PEC message: its header carries
// X-Trasporto or X-Ricevuta (PEC.md §15.3). A forwarded one is in
// Forwarded.
func (m *Message) IsPEC() bool { return m.msg.Part != nil && m.part == m.msg.Part }

// PEC returns the PEC message read: m itself when it is one, the one it
// forwards when it is ordinary mail forwarding one, else nil.
func (m *Message) PEC() *Message {
	if m.IsPEC() {
		return m
	}
	return m.Forwarded
}

// OK reports whether m may be relied on as the PEC message it claims to
// be: its signature is intact, made by a trusted PEC provider that is its
// From address (smime.Verdict.OK, which needs VerifyOptions.Authority),
// and its signed content establishes its kind (the signed daticert.xml;
// an anomaly envelope is the one kind signed without one), and no header
// outside the signature contradicts the signed content (the sender named
// in From, Subject, To, Cc, Date, the identifiers: a pec.ErrInconsistent
// problem). Ordinary mail
// is never OK, even when what it forwards is: ask Forwarded.
func (m *Message) OK() bool { return m.IsPEC() && m.msg.Certified() }

// Err returns the problems of m joined into one error, or nil.
func (m *Message) Err() error { return errors.Join(m.Problems...) }

// Text returns the human-readable text of the message: the first
// text/plain part of a PEC message's signed content, or of ordinary mail,
// transfer-decoded and converted from its charset to UTF-8 (an unknown
// charset leaves the bytes as they are). Up to 64 KiB of a PEC message's
// text are read.
func (m *Message) Text() string {
	if m.IsPEC() {
		return m.msg.TextBody()
	}
	var text *mimeutil.Part
	m.part.Walk(func(p *mimeutil.Part) bool {
		if p.MediaType == "text/plain" && !isAttachment(p) {
			text = p
			return false
		}
		return p.Embedded == nil || p == m.part
	})
	if text == nil {
		return ""
	}
	body, err := text.Body()
	if err != nil && body == nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(body, 64<<10))
	return string(b)
}

// Subject returns the subject, decoded to UTF-8 (RFC 2047). For a PEC
// message it comes from signed content only: the daticert oggetto, else
// the Subject of the signed original message; "" when the signed content
// carries none. For ordinary mail it is its Subject field.
func (m *Message) Subject() string {
	if !m.IsPEC() {
		return decodedSubject(*m.Header())
	}
	if m.Data != nil {
		return m.Data.Subject
	}
	if h, ok := m.OriginalHeader(); ok {
		return decodedSubject(h)
	}
	return ""
}

func decodedSubject(h mail.Header) string {
	s, err := h.Subject()
	if err != nil {
		return h.Get("Subject")
	}
	return s
}

// HasOriginal reports whether m carries an original message:
// postacert.eml of a transport envelope or of a completa or breve
// delivery receipt, or the message an anomaly envelope wraps.
func (m *Message) HasOriginal() bool { return m.IsPEC() && m.msg.Original != nil }

// Original returns the original message as a stream of its RFC 5322 bytes
// exactly as carried, read from the input as needed: no charset is
// converted (a transfer encoding of the message/rfc822 part itself, which
// some providers use, is undone). ErrNoOriginal when there is none.
func (m *Message) Original() (io.Reader, error) {
	if !m.HasOriginal() {
		return nil, ErrNoOriginal
	}
	return m.msg.OriginalBody()
}

// OriginalHeader returns the header of the original message: signed,
// unlike the PEC message's own header. Field values are as carried
// (mail.Header decodes RFC 2047 words on request). It shares its fields
// with m, which reads them (the sender of an envelope among them): read
// it, and Copy it to change it. ok is false when there is no original or
// the message is not signed.
func (m *Message) OriginalHeader() (h mail.Header, ok bool) {
	if !m.IsPEC() {
		return mail.Header{}, false
	}
	th, ok := m.msg.OriginalHeader()
	if !ok {
		return mail.Header{}, false
	}
	return mail.Header{Header: message.Header{Header: th}}, true
}

// CertData returns the daticert.xml part with its transfer encoding
// undone: the bytes the provider signed, in the charset its XML
// declaration names (UTF-8 in practice), not converted. It is
// pec.ErrNoCertData when the message carries none.
func (m *Message) CertData() (io.Reader, error) {
	if !m.IsPEC() || m.msg.CertPart == nil {
		return nil, pec.ErrNoCertData
	}
	return m.msg.CertPart.Decoded()
}
