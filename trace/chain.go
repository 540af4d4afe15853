package trace

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pecsdk/pec/pec"
)

// DefaultMaxRecordSize bounds one encoded record (an inline completa
// delivery receipt carries the whole original message). Stores may take a
// different limit as an option.
const DefaultMaxRecordSize = 32 << 20

// maxField bounds one string or list in a record's encoding, against
// hostile input.
const maxField = DefaultMaxRecordSize

// recordMagic starts every encoded record; its last byte is the version.
const recordMagic = "PTR\x01"

// hashDomain separates record hashes from any other SHA-256 use.
const hashDomain = "pec-trace-record/1\x00"

// Validate reports the first field that makes r unfit for the log, as a
// *FieldError.
func (r *Record) Validate() error {
	switch {
	case r.Time.IsZero():
		return &FieldError{"Time", "missing"}
	case !time.Unix(0, r.Time.UnixNano()).Equal(r.Time):
		return &FieldError{"Time", fmt.Sprintf("%v is outside the years 1678 to 2261 the log encodes", r.Time)}
	case !r.Event.Valid():
		return &FieldError{"Event", fmt.Sprintf("%q is not a trace event", string(r.Event))}
	case r.Point != "" && !r.Point.Valid():
		return &FieldError{"Point", fmt.Sprintf("%q is not AP, PR or PC", string(r.Point))}
	case r.Kind != pec.KindUnknown && !r.Kind.Valid():
		return &FieldError{"Kind", fmt.Sprintf("%d is not a catalogue kind", int(r.Kind))}
	case zoneOffsetOut(r.Time):
		_, off := r.Time.Zone()
		return &FieldError{"Time", fmt.Sprintf("zone offset %+ds is beyond the ±18 hours the log encodes", off)}
	case r.MsgID == "" && r.ClientMsgID == "":
		return &FieldError{"MsgID", "neither MsgID nor ClientMsgID is set"}
	case len(r.Message) > 0 && !r.MessageHash.IsZero() && r.MessageHash != sha256.Sum256(r.Message):
		return &FieldError{"MessageHash", "is not the SHA-256 of Message"}
	}
	for i, rc := range r.Recipients {
		switch {
		case !utf8.ValidString(rc.Address) || !utf8.ValidString(string(rc.Type)):
			return &FieldError{"Recipients", fmt.Sprintf("recipient %d is not valid UTF-8", i+1)}
		case blankID(rc.Address): // NormalizeAddress(rc.Address) == ""
			return &FieldError{"Recipients", fmt.Sprintf("recipient %d has no address", i+1)}
		}
	}
	for i, g := range r.Generated {
		switch {
		case !utf8.ValidString(g):
			return &FieldError{"Generated", fmt.Sprintf("identifier %d is not valid UTF-8", i+1)}
		case blankID(g): // NormalizeID(g) == ""
			return &FieldError{"Generated", fmt.Sprintf("identifier %d is empty", i+1)}
		}
	}
	if r.keepsMessage() {
		if len(r.Generated) != 1 {
			return &FieldError{"Generated", fmt.Sprintf("a record that keeps a message must list that message's Message-ID alone, not %d identifiers", len(r.Generated))}
		}
		if id, n := headerMessageID(r.Message); n > 1 {
			return &FieldError{"Message", fmt.Sprintf("has %d Message-ID header fields", n)}
		} else if n == 1 && !sameID(id, r.Generated[0]) {
			return &FieldError{"Message", fmt.Sprintf("is the message <%s>, not <%s> that Generated names", NormalizeID(string(id)), NormalizeID(r.Generated[0]))}
		}
	}
	for _, f := range [...]struct{ name, s string }{
		{"MsgID", r.MsgID}, {"ClientMsgID", r.ClientMsgID}, {"Sender", r.Sender}, {"Subject", r.Subject},
		{"Provider", r.Provider}, {"Delivery", r.Delivery}, {"Reception", r.Reception},
		{"ErrorExtended", r.ErrorExtended}, {"Virus", r.Virus}, {"QueueID", r.QueueID}, {"MessageRef", r.MessageRef},
	} {
		if !utf8.ValidString(f.s) {
			return &FieldError{f.name, "not valid UTF-8"}
		}
	}
	return nil
}

// zoneOffsetOut reports whether t's zone offset is beyond the ±18 hours
// the encoding accepts.
func zoneOffsetOut(t time.Time) bool {
	_, off := t.Zone()
	return off < -maxZoneOffset || off > maxZoneOffset
}

// maxZoneOffset bounds a record's zone offset, in seconds, as ISO 8601
// and RFC 3339 bound it.
const maxZoneOffset = 18 * 3600

// keepsMessage reports whether r keeps the bytes of a generated message,
// inline or by reference.
func (r *Record) keepsMessage() bool {
	return len(r.Message) > 0 || r.MessageRef != "" || !r.MessageHash.IsZero()
}

// Keeps reports whether r keeps the bytes of the generated message whose
// Message-ID is id, inline (Message) or by reference (MessageRef): r
// keeps a message and lists id as its one Generated identifier (brackets
// and the case of the domain ignored). Validate makes a record that keeps
// a message list exactly that message's identifier, and refuses inline
// bytes whose own Message-ID header names another, so that Store.Reissue
// returns only the message asked for. Stores use it to pick what Reissue
// returns among the records their index of Generated finds.
func (r *Record) Keeps(id string) bool {
	return r.keepsMessage() && len(r.Generated) == 1 && NormalizeID(id) != "" && equalID(r.Generated[0], id)
}

// headerMessageID returns the value of the first Message-ID header field
// of the message msg (RFC 5322 §3.6.4), trimmed and unfolded, and the
// number of such fields: those before the first empty line whose name
// matches case-insensitively. The value is part of msg unless the field
// is folded (then unfolded: one space in place of each fold that
// continues the value, as net/textproto does but for blank continuation
// lines, which add nothing here; NormalizeMsgID drops inner space anyway).
func headerMessageID(msg []byte) (id []byte, n int) {
	in := false // the last field was the first Message-ID, continued by folded lines
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, msg = msg[:i], msg[i+1:]
		} else {
			msg = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if more := bytes.TrimSpace(line); in && len(id) == 0 {
				id = more
			} else if in && len(more) > 0 {
				id = append(append(append([]byte(nil), id...), ' '), more...)
			}
			continue
		}
		in = false
		if len(line) < len("Message-ID:") || line[0] != 'M' && line[0] != 'm' {
			continue // cannot be a Message-ID field: the common case, without a search
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimRight(name, " \t"), []byte("Message-ID")) {
			if n++; n == 1 {
				id, in = bytes.TrimSpace(value), true
			}
		}
	}
	return id, n
}

// sameID reports whether the header value v names the message id, as
// equalID compares them; the forms a provider writes, v the very id or
// the id in angle brackets, are told without building a string.
func sameID(v []byte, id string) bool {
	if string(v) == id {
		return true
	}
	// v is "<id>", and id has nothing NormalizeMsgID would trim at its
	// ends, so that both normalise alike.
	if len(v) == len(id)+2 && v[0] == '<' && v[len(v)-1] == '>' && string(v[1:len(v)-1]) == id && plainEnds(id) {
		return true
	}
	return equalID(string(v), id)
}

// blankID reports whether NormalizeMsgID(s) is empty; at once when s
// starts with a byte that it keeps.
func blankID(s string) bool {
	if len(s) > 0 && plainByte(s[0]) {
		return false
	}
	return pec.NormalizeMsgID(s) == ""
}

// plainEnds reports whether s starts and ends with a plainByte.
func plainEnds(s string) bool {
	return len(s) > 0 && plainByte(s[0]) && plainByte(s[len(s)-1])
}

// plainByte reports whether c is printable ASCII, neither white space nor
// an angle bracket: a byte NormalizeMsgID never trims.
func plainByte(c byte) bool { return c > ' ' && c < 0x7f && c != '<' && c != '>' }

// Chain places r after the record whose hash is prev, at position seq: it
// sets Seq, Prev, MessageHash (from an inline Message, when zero) and Hash.
// Stores call it inside the critical section that picks seq.
func (r *Record) Chain(seq uint64, prev Hash) {
	r.Seq = seq
	r.Prev = prev
	if len(r.Message) > 0 && r.MessageHash.IsZero() {
		r.MessageHash = sha256.Sum256(r.Message)
	}
	r.Hash = r.ComputeHash()
}

// ComputeHash returns the hash r should carry: SHA-256 over Prev and every
// field but Hash and the inline Message bytes, which MessageHash stands for.
func (r *Record) ComputeHash() Hash {
	b := make([]byte, 0, len(hashDomain)+r.chainedSize())
	b = append(b, hashDomain...)
	return sha256.Sum256(r.appendChained(b))
}

// chainedSize is an upper bound of the length of appendChained's output.
func (r *Record) chainedSize() int {
	n := len(recordMagic) + 3*binary.MaxVarintLen64 + 2*len(Hash{}) + 24*binary.MaxVarintLen64 +
		len(r.Point) + len(r.Event) + len(r.MsgID) + len(r.ClientMsgID) + len(r.Sender) + len(r.Subject) +
		len(r.Provider) + len(r.ReceiptType) + len(r.Delivery) + len(r.Reception) + len(r.Error) +
		len(r.ErrorExtended) + len(r.Virus) + len(r.QueueID) + len(r.MessageRef)
	for _, rc := range r.Recipients {
		n += 2*binary.MaxVarintLen64 + len(rc.Address) + len(rc.Type)
	}
	for _, g := range r.Generated {
		n += binary.MaxVarintLen64 + len(g)
	}
	return n
}

// Check reports whether r's hash is right and its inline Message matches
// MessageHash. It does not look at the chain around r.
func (r *Record) Check() bool {
	if len(r.Message) > 0 && r.MessageHash != sha256.Sum256(r.Message) {
		return false
	}
	return r.Hash == r.ComputeHash()
}

// Involves reports whether addr is r's sender, one of its recipients, or
// the recipient its outcome is about, compared case-insensitively (the
// local part too: a log search should not miss User@ for user@) and without
// angle brackets.
func (r *Record) Involves(addr string) bool {
	a := NormalizeAddress(addr)
	if a == "" {
		return false
	}
	if a == NormalizeAddress(r.Sender) || a == NormalizeAddress(r.Delivery) {
		return true
	}
	for _, rc := range strings.Split(r.Reception, ",") {
		if a == NormalizeAddress(rc) {
			return true
		}
	}
	for _, rc := range r.Recipients {
		if a == NormalizeAddress(rc.Address) {
			return true
		}
	}
	return false
}

// Addresses returns every address r involves, in the form of
// NormalizeAddress, without repeats: what an address index keys on.
func (r *Record) Addresses() []string {
	var out []string
	add := func(a string) {
		a = NormalizeAddress(a)
		if a == "" {
			return
		}
		for _, o := range out {
			if o == a {
				return
			}
		}
		out = append(out, a)
	}
	add(r.Sender)
	for _, rc := range r.Recipients {
		add(rc.Address)
	}
	add(r.Delivery)
	for _, rc := range strings.Split(r.Reception, ",") {
		add(rc)
	}
	return out
}

// NormalizeAddress is the form of an address that address indexes key on
// and Involves compares: without angle brackets or surrounding space,
// lower-cased.
func NormalizeAddress(addr string) string { return strings.ToLower(pec.NormalizeMsgID(addr)) }

// NormalizeID is the form of a message identifier that indexes key on:
// without angle brackets or surrounding space, the domain lower-cased.
// Two identifiers are equal for Query.Match exactly when their
// NormalizeID forms are.
func NormalizeID(id string) string {
	id = pec.NormalizeMsgID(id)
	if i := strings.LastIndexByte(id, '@'); i >= 0 {
		id = id[:i] + strings.ToLower(id[i:])
	}
	return id
}

// equalID reports whether NormalizeID(a) == NormalizeID(b), without
// building either: the local parts (up to the last @) compare exactly and
// the domains lower-cased.
func equalID(a, b string) bool {
	a, b = pec.NormalizeMsgID(a), pec.NormalizeMsgID(b)
	ia, ib := strings.LastIndexByte(a, '@'), strings.LastIndexByte(b, '@')
	if ia < 0 || ib < 0 {
		return ia == ib && a == b
	}
	if a[:ia] != b[:ib] {
		return false
	}
	da, db := a[ia:], b[ib:]
	if len(da) != len(db) || !isASCII(da) || !isASCII(db) {
		return strings.ToLower(da) == strings.ToLower(db)
	}
	for i := 0; i < len(da); i++ {
		if lowerASCII(da[i]) != lowerASCII(db[i]) {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// MarshalBinary encodes r whole: every field, Seq, Prev, Hash and the
// inline Message. The encoding is stable across versions of this package.
func (r *Record) MarshalBinary() ([]byte, error) {
	b := r.appendChained(make([]byte, 0, r.chainedSize()+len(Hash{})+binary.MaxVarintLen64+len(r.Message)))
	b = append(b, r.Hash[:]...)
	b = appendBytes(b, r.Message)
	return b, nil
}

// appendChained appends the encoding of everything the hash covers.
func (r *Record) appendChained(b []byte) []byte {
	b = append(b, recordMagic...)
	b = binary.AppendUvarint(b, r.Seq)
	b = r.appendFields(b)
	b = append(b, r.Prev[:]...)
	return b
}

// appendFields appends the encoding of the fields between Seq and Prev.
func (r *Record) appendFields(b []byte) []byte {
	_, off := r.Time.Zone()
	b = binary.AppendVarint(b, r.Time.UnixNano())
	b = binary.AppendVarint(b, int64(off))
	b = appendString(b, string(r.Point))
	b = appendString(b, string(r.Event))
	b = binary.AppendUvarint(b, uint64(r.Kind))
	b = appendString(b, r.MsgID)
	b = appendString(b, r.ClientMsgID)
	b = appendString(b, r.Sender)
	b = binary.AppendUvarint(b, uint64(len(r.Recipients)))
	for _, rc := range r.Recipients {
		b = appendString(b, rc.Address)
		b = appendString(b, string(rc.Type))
	}
	b = appendString(b, r.Subject)
	b = appendString(b, r.Provider)
	b = binary.AppendUvarint(b, uint64(len(r.Generated)))
	for _, g := range r.Generated {
		b = appendString(b, g)
	}
	b = appendString(b, string(r.ReceiptType))
	b = appendString(b, r.Delivery)
	b = appendString(b, r.Reception)
	b = appendString(b, string(r.Error))
	b = appendString(b, r.ErrorExtended)
	b = appendString(b, r.Virus)
	b = appendString(b, r.QueueID)
	b = appendString(b, r.MessageRef)
	b = append(b, r.MessageHash[:]...)
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// UnmarshalBinary decodes what MarshalBinary encoded. Malformed input gives
// a *DecodeError (matching ErrCorrupt) with the byte offset; it never
// panics, and never allocates more than the input's size per field. It
// accepts only the one encoding MarshalBinary writes (no overlong
// varint): what it decodes encodes back to the same bytes.
func (r *Record) UnmarshalBinary(data []byte) error {
	d := decoder{b: data, what: "record"}
	if len(data) < len(recordMagic) || string(data[:len(recordMagic)]) != recordMagic {
		return d.fail("not a trace record (bad magic or version)")
	}
	d.off = len(recordMagic)
	var out Record
	out.Seq = d.uvarint()
	nanos := d.varint()
	off := d.varint()
	if d.err == nil && (off < -maxZoneOffset || off > maxZoneOffset) {
		return d.fail("zone offset out of range")
	}
	out.Time = time.Unix(0, nanos).In(zone(int(off)))
	out.Point = Point(d.str())
	out.Event = Event(d.str())
	out.Kind = pec.Kind(d.uvarint())
	out.MsgID = d.str()
	out.ClientMsgID = d.str()
	out.Sender = d.str()
	if n := d.count(2); n > 0 {
		out.Recipients = make([]pec.Recipient, n)
		for i := range out.Recipients {
			out.Recipients[i] = pec.Recipient{Address: d.str(), Type: pec.RecipientType(d.str())}
		}
	}
	out.Subject = d.str()
	out.Provider = d.str()
	if n := d.count(1); n > 0 {
		out.Generated = make([]string, n)
		for i := range out.Generated {
			out.Generated[i] = d.str()
		}
	}
	out.ReceiptType = pec.ReceiptType(d.str())
	out.Delivery = d.str()
	out.Reception = d.str()
	out.Error = pec.ErrorCode(d.str())
	out.ErrorExtended = d.str()
	out.Virus = d.str()
	out.QueueID = d.str()
	out.MessageRef = d.str()
	d.hash(&out.MessageHash)
	d.hash(&out.Prev)
	d.hash(&out.Hash)
	if m := d.bytes(); len(m) > 0 {
		out.Message = m
	}
	if d.err != nil {
		return d.err
	}
	if d.off != len(data) {
		return d.fail(fmt.Sprintf("%d trailing bytes", len(data)-d.off))
	}
	*r = out
	return nil
}

// OffsetZone returns the fixed zone a decoded time of the log is in: the
// given offset in seconds east of UTC, named UTC, CET or CEST when it is one
// of Europe/Rome's, so that re-encoding is stable. Stores that keep times as
// nanoseconds and an offset rebuild them with it.
func OffsetZone(off int) *time.Location { return zone(off) }

// zone returns a fixed zone for an offset, named as Europe/Rome names it
// when it is one of Rome's offsets, so that re-encoding is stable.
func zone(off int) *time.Location {
	switch off {
	case 0:
		return time.UTC
	case 3600:
		return fixedCET
	case 7200:
		return fixedCEST
	}
	return time.FixedZone("", off)
}

var (
	fixedCET  = time.FixedZone("CET", 3600)
	fixedCEST = time.FixedZone("CEST", 7200)
)

// decoder reads the primitive fields of an encoding, keeping the first
// error; every read after it is a no-op returning the zero value.
type decoder struct {
	b    []byte
	off  int
	what string
	err  error
}

func (d *decoder) fail(reason string) error {
	if d.err == nil {
		d.err = &DecodeError{What: d.what, Offset: d.off, Reason: reason}
	}
	return d.err
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad unsigned varint")
		return 0
	}
	if n != uvarintLen(v) {
		d.fail(fmt.Sprintf("overlong unsigned varint (%d bytes for %d)", n, v))
		return 0
	}
	d.off += n
	return v
}

// uvarintLen is the length of the one encoding of v that
// binary.AppendUvarint writes: a decoder that took a longer form would
// give one record several encodings.
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	if n != uvarintLen(uint64(v)<<1^uint64(v>>63)) { // the zig-zag form binary.AppendVarint writes
		d.fail(fmt.Sprintf("overlong varint (%d bytes for %d)", n, v))
		return 0
	}
	d.off += n
	return v
}

// count reads a list length, each element of which takes at least min
// bytes, and refuses a length the rest of the input cannot hold.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.b)-d.off)/uint64(min) {
		d.fail(fmt.Sprintf("list of %d elements longer than the input", n))
		return 0
	}
	return int(n)
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)-d.off) || n > maxField {
		d.fail(fmt.Sprintf("field of %d bytes longer than the input", n))
		return nil
	}
	p := d.b[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return append([]byte(nil), p...)
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)-d.off) || n > maxField {
		d.fail(fmt.Sprintf("string of %d bytes longer than the input", n))
		return ""
	}
	s := string(d.b[d.off : d.off+int(n)])
	d.off += int(n)
	return s
}

func (d *decoder) hash(h *Hash) {
	if d.err != nil {
		return
	}
	if len(d.b)-d.off < len(h) {
		d.fail("truncated hash")
		return
	}
	copy(h[:], d.b[d.off:])
	d.off += len(h)
}
