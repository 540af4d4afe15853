package client

// Composing a PEC message and the checks a provider's access point makes
// (PEC.md §15.2, §11.1 items 3–8): exactly one From, To present, Cc, never
// Bcc, a unique Message-ID kept for correlation, X-TipoRicevuta for the
// delivery receipt type, and the size limit counted as size × recipients.

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"reflect"
	"strings"
	"time"

	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"github.com/pecsdk/pec/pec"
)

// DefaultMaxTotal is the size limit used when none is given: message size
// × number of recipients, as the Italian rules count it (PEC.md §11.1 item
// 8, §17 item 22). Providers advertise their own; set
// SubmitOptions.MaxTotal to the one of yours.
const DefaultMaxTotal = 30 << 20

// Draft is a message to send as PEC. Attachments are read once, when the
// draft is composed: composing (or sending) the same Draft again with the
// same attachment readers is refused, since they are spent; give fresh
// readers in Attachments to compose it again (it keeps its Message-ID).
type Draft struct {
	// From is the sender's PEC mailbox, with an optional display name
	// ("Alice Rossi <alice@pec.example.it>"). It must be the mailbox the
	// submission logs in as.
	From    string
	To, Cc  []string // at least one To; PEC has no Bcc (PEC.md §4)
	Subject string
	Text    string // the plain-text body
	// Attachments follow the text, in order.
	Attachments []Attachment

	spent []io.Reader // the attachment readers a Compose has read
	// ReceiptType is the delivery receipt requested (X-TipoRicevuta,
	// PEC.md §6.7); empty leaves the header out, which means completa.
	ReceiptType pec.ReceiptType
	// MessageID is the Message-ID: the key that correlates the receipts
	// with this message (PEC.md §9). It is given and returned without
	// angle brackets, as every identifier of the package; brackets given
	// here are taken off. Empty: the first Compose or Send generates a
	// unique one in the domain of From and stores it here, so that the
	// draft keeps its identifier and a retry of the same draft is
	// recognised (the tracker refuses the same Message-ID twice: a send
	// is idempotent).
	MessageID string
	// Date is the Date field; zero means the clock's now.
	Date time.Time
}

// Attachment is a file attached to a Draft. Its bytes are sent as they
// are, base64-encoded: a text attachment in any charset (ContentType
// "text/plain; charset=iso-8859-1") reaches the recipient byte for byte,
// with the charset it declares; nothing is converted.
type Attachment struct {
	Name string // file name shown to the recipient
	// ContentType is the media type with its parameters, a charset
	// included; empty: application/octet-stream. multipart/* is refused:
	// a multipart entity cannot be base64-encoded (RFC 2045 §6.4).
	ContentType string
	Content     io.Reader // read once, base64-encoded
}

// AttachmentError reports an attachment of a Draft that cannot be sent:
// a file name or content type that cannot be written (it then matches
// ErrInvalidDraft), or the failure of its reader.
type AttachmentError struct {
	Index int    // position in Draft.Attachments
	Name  string // Attachment.Name
	Err   error
}

// Error implements error.
func (e *AttachmentError) Error() string {
	return fmt.Sprintf("client: attachment %d (%s): %v", e.Index, e.Name, e.Err)
}

// Unwrap returns the cause.
func (e *AttachmentError) Unwrap() error { return e.Err }

// ComposeOptions configure Compose; nil or zero fields select the defaults.
type ComposeOptions struct {
	// MaxTotal is the size limit, message size × recipients; zero means
	// DefaultMaxTotal, negative means none.
	MaxTotal int64
	// Now is the clock, for the Date field and generated Message-IDs;
	// nil means time.Now.
	Now func() time.Time
}

// Check reports what a PEC access point would refuse in d (PEC.md §11.1):
// a From that is not exactly one valid address, no To, an invalid or
// repeated recipient, an invalid Message-ID or receipt type, line breaks in
// the subject, an attachment without a name or content or whose content
// type cannot be sent. The errors match ErrAddress or ErrInvalidDraft and
// name the field; those of an attachment are *AttachmentError.
func (d *Draft) Check() error {
	if _, err := parseOne("From", d.From); err != nil {
		return err
	}
	if len(d.To) == 0 {
		return fmt.Errorf("%w: To: no recipient", ErrAddress)
	}
	seen := map[string]string{}
	for _, l := range []struct {
		field string
		addrs []string
	}{{"To", d.To}, {"Cc", d.Cc}} {
		for i, a := range l.addrs {
			where := fmt.Sprintf("%s[%d]", l.field, i)
			p, err := parseOne(where, a)
			if err != nil {
				return err
			}
			key := strings.ToLower(p.Address)
			if prev, ok := seen[key]; ok {
				return fmt.Errorf("%w: %s: %s repeats %s", ErrAddress, where, p.Address, prev)
			}
			seen[key] = where
		}
	}
	if strings.ContainsAny(d.Subject, "\r\n") {
		return fmt.Errorf("%w: Subject: line break", ErrInvalidDraft)
	}
	if d.ReceiptType != "" {
		if _, err := pec.ParseReceiptType(string(d.ReceiptType)); err != nil {
			return fmt.Errorf("%w: receipt type: %w", ErrInvalidDraft, err)
		}
	}
	if d.MessageID != "" && !validMsgID(trimBrackets(d.MessageID)) {
		return fmt.Errorf("%w: Message-ID %q: want id-left@id-right, without spaces", ErrInvalidDraft, d.MessageID)
	}
	for i, a := range d.Attachments {
		if _, err := a.header(); err != nil {
			return &AttachmentError{Index: i, Name: a.Name, Err: fmt.Errorf("%w: %w", ErrInvalidDraft, err)}
		}
		if a.Content == nil {
			return &AttachmentError{Index: i, Name: a.Name, Err: fmt.Errorf("%w: no content", ErrInvalidDraft)}
		}
	}
	return nil
}

// trimBrackets takes the angle brackets off a Message-ID, if any.
func trimBrackets(id string) string {
	id = strings.TrimSpace(id)
	if strings.HasPrefix(id, "<") && strings.HasSuffix(id, ">") {
		id = id[1 : len(id)-1]
	}
	return id
}

// header returns the MIME header of the attachment part: its content type
// as given (charset included), the file name, base64.
func (a *Attachment) header() (gomail.AttachmentHeader, error) {
	var ah gomail.AttachmentHeader
	if a.Name == "" || strings.ContainsAny(a.Name, "\r\n\"/\\") {
		return ah, fmt.Errorf("bad file name %q", a.Name)
	}
	ct := a.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return ah, fmt.Errorf("content type %q: %v", ct, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		return ah, fmt.Errorf("content type %q: a multipart entity cannot be base64-encoded (RFC 2045 §6.4); attach it as application/octet-stream", ct)
	}
	if mime.FormatMediaType(mt, params) == "" {
		return ah, fmt.Errorf("content type %q: cannot be written back", ct)
	}
	ah.SetContentType(mt, params)
	ah.Set("Content-Disposition", "attachment")
	ah.SetFilename(a.Name)
	ah.Set("Content-Transfer-Encoding", "base64")
	return ah, nil
}

// recipients returns the bare addresses of To then Cc: the RCPT TO set
// (PEC.md §11.1 item 6). d must have passed Check.
func (d *Draft) recipients() []string {
	var out []string
	for _, l := range [][]string{d.To, d.Cc} {
		for _, a := range l {
			p, _ := mail.ParseAddress(a)
			out = append(out, p.Address)
		}
	}
	return out
}

// sender returns the bare From address. d must have passed Check.
func (d *Draft) sender() string {
	p, _ := mail.ParseAddress(d.From)
	return p.Address
}

// Compose checks d and writes it to w as an RFC 5322 message with the
// header fields a PEC provider expects, returning the Message-ID used
// (without angle brackets), which it also leaves in d.MessageID. Past the
// size limit it stops with ErrTooLarge; w then holds part of a message.
func Compose(w io.Writer, d *Draft, opts *ComposeOptions) (string, error) {
	var o ComposeOptions
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := d.Check(); err != nil {
		return "", err
	}
	for i, a := range d.Attachments {
		if d.wasRead(a.Content) {
			return "", &AttachmentError{Index: i, Name: a.Name, Err: fmt.Errorf("%w: its reader was read by an earlier Compose or Send of this draft; give a fresh one", ErrInvalidDraft)}
		}
	}
	d.spent = d.spent[:0]
	for _, a := range d.Attachments {
		d.spent = append(d.spent, a.Content)
	}
	if d.MessageID == "" {
		d.MessageID = NewMessageID(pec.Domain(d.sender()), o.Now())
	}
	d.MessageID = trimBrackets(d.MessageID)
	id := d.MessageID
	if lim := limitFor(o.MaxTotal, len(d.recipients())); lim > 0 {
		w = &limitWriter{w: w, max: lim, n: len(d.recipients())}
	}
	return id, compose(w, d, id, o.Now())
}

// wasRead reports whether r is one of the readers an earlier Compose of d
// read. A reader that cannot be compared counts as read once d has been
// composed: better refused than sent empty.
func (d *Draft) wasRead(r io.Reader) bool {
	v := reflect.ValueOf(r)
	if !v.IsValid() || !v.Comparable() {
		return len(d.spent) > 0
	}
	for _, s := range d.spent {
		sv := reflect.ValueOf(s)
		if sv.IsValid() && sv.Type() == v.Type() && sv.Comparable() && sv.Equal(v) {
			return true
		}
	}
	return false
}

func compose(w io.Writer, d *Draft, id string, now time.Time) error {
	// go-message writes the last field added first: add them bottom up,
	// so that the message reads From, To, Cc, Subject, Date, Message-ID.
	var h gomail.Header
	// Raw fields keep the spelling of the registry (PEC.md §4): go-message
	// would write X-Tiporicevuta.
	h.AddRaw([]byte("MIME-Version: 1.0\r\n"))
	if d.ReceiptType != "" {
		rt, _ := pec.ParseReceiptType(string(d.ReceiptType))
		h.AddRaw([]byte(pec.HeaderReceiptType + ": " + string(rt) + "\r\n"))
	}
	h.AddRaw([]byte("Message-ID: <" + id + ">\r\n"))
	date := d.Date
	if date.IsZero() {
		date = now
	}
	h.SetDate(date)
	h.SetSubject(d.Subject)
	for _, f := range []struct {
		name  string
		addrs []string
	}{{"Cc", d.Cc}, {"To", d.To}} {
		if len(f.addrs) == 0 {
			continue
		}
		var list []*gomail.Address
		for _, a := range f.addrs {
			p, _ := mail.ParseAddress(a)
			list = append(list, &gomail.Address{Name: p.Name, Address: p.Address})
		}
		h.SetAddressList(f.name, list)
	}
	from, _ := mail.ParseAddress(d.From)
	h.SetAddressList("From", []*gomail.Address{{Name: from.Name, Address: from.Address}})

	var text gomail.InlineHeader
	text.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	if len(d.Attachments) == 0 {
		h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
		body, err := gomail.CreateSingleInlineWriter(w, h)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(body, d.Text); err != nil {
			return err
		}
		return body.Close()
	}
	// The parts are written with go-message's textproto layer, below its
	// mail writer, which takes only UTF-8 text: an attachment's bytes go
	// out as they are, in whatever charset it declares.
	mw := textproto.NewMultipartWriter(w)
	h.SetContentType("multipart/mixed", map[string]string{"boundary": mw.Boundary()})
	if err := textproto.WriteHeader(w, h.Header.Header); err != nil {
		return err
	}
	text.Set("Content-Disposition", "inline")
	text.Set("Content-Transfer-Encoding", "quoted-printable")
	pw, err := mw.CreatePart(text.Header.Header)
	if err != nil {
		return err
	}
	qw := quotedprintable.NewWriter(pw)
	if _, err := io.WriteString(qw, d.Text); err != nil {
		return err
	}
	if err := qw.Close(); err != nil {
		return err
	}
	for i := range d.Attachments {
		a := &d.Attachments[i]
		ah, err := a.header()
		if err != nil {
			return &AttachmentError{Index: i, Name: a.Name, Err: fmt.Errorf("%w: %w", ErrInvalidDraft, err)}
		}
		pw, err := mw.CreatePart(ah.Header.Header)
		if err != nil {
			return err
		}
		bw := base64.NewEncoder(base64.StdEncoding, &lineWriter{w: pw})
		if _, err := io.Copy(bw, a.Content); err != nil {
			if errors.Is(err, ErrTooLarge) {
				return err
			}
			return &AttachmentError{Index: i, Name: a.Name, Err: err}
		}
		if err := bw.Close(); err != nil {
			return err
		}
	}
	return mw.Close()
}

// lineWriter breaks base64 text into lines of 76 characters (RFC 2045
// §6.8).
type lineWriter struct {
	w   io.Writer
	col int
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if l.col == 76 {
			if _, err := io.WriteString(l.w, "\r\n"); err != nil {
				return n, err
			}
			l.col = 0
		}
		k := min(76-l.col, len(p))
		m, err := l.w.Write(p[:k])
		n += m
		l.col += m
		if err != nil {
			return n, err
		}
		p = p[k:]
	}
	return n, nil
}

// NewMessageID returns a new unique Message-ID in domain, without angle
// brackets: the time and 96 random bits.
func NewMessageID(domain string, now time.Time) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	if domain == "" {
		domain = "localhost"
	}
	return now.UTC().Format("20060102150405") + "." + hex.EncodeToString(b[:]) + "@" + domain
}

// parseOne parses one mailbox of field.
func parseOne(field, s string) (*mail.Address, error) {
	if strings.Contains(s, ",") && strings.Count(s, "@") > 1 {
		return nil, fmt.Errorf("%w: %s: %q holds more than one address", ErrAddress, field, s)
	}
	p, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %q: %v", ErrAddress, field, s, err)
	}
	if !strings.Contains(p.Address, "@") || strings.HasSuffix(p.Address, "@") || strings.HasPrefix(p.Address, "@") {
		return nil, fmt.Errorf("%w: %s: %q: not local@domain", ErrAddress, field, s)
	}
	return p, nil
}

// validMsgID reports whether id is a dot-atom-ish id-left@id-right
// (RFC 5322 §3.6.4), without brackets.
func validMsgID(id string) bool {
	left, right, ok := strings.Cut(id, "@")
	if !ok || left == "" || right == "" || strings.Contains(right, "@") || len(id) > 900 {
		return false
	}
	for _, r := range id {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("<>()[]\\,;:\"", r) {
			return false
		}
	}
	return true
}

// limitFor returns the byte limit of one copy for n recipients, or 0 for
// none.
func limitFor(maxTotal int64, n int) int64 {
	if maxTotal < 0 || n == 0 {
		return 0
	}
	if maxTotal == 0 {
		maxTotal = DefaultMaxTotal
	}
	return maxTotal / int64(n)
}

// limitWriter fails with ErrTooLarge past max bytes.
type limitWriter struct {
	w       io.Writer
	max     int64
	written int64
	n       int // recipients, for the message
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.written+int64(len(p)) > l.max {
		return 0, fmt.Errorf("%w: more than %d bytes × %d recipients = %d bytes", ErrTooLarge, l.max, l.n, l.max*int64(l.n))
	}
	l.written += int64(len(p))
	return l.w.Write(p)
}
