package pecmsg

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	netmail "net/mail"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"github.com/pecsdk/pec/internal/mimeutil"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/smime"
)

// MaxSignatureSize bounds the decoded smime.p7s part.
const MaxSignatureSize = 1 << 20

// Message is a PEC message located in an input.
type Message struct {
	Root    *mimeutil.Part // the whole input
	Part    *mimeutil.Part // the PEC message: Root, or a message inside a wrapper
	Wrapped bool           // the PEC message was found inside another message
	Kind    pec.Kind
	// Established reports that the signed content establishes Kind: the
	// signed certification data (or, for an anomaly envelope, the signed
	// part without one) says what the unsigned headers claim.
	Established bool
	// outside: the message carries content outside its signature (parts
	// around the multipart/signed, a third part in it).
	outside bool
	// disagrees: a header outside the signature contradicts the signed
	// certification data (crossCheck).
	disagrees  bool
	Content    *mimeutil.Part // the signed content (first part of multipart/signed), or the body when unsigned
	SigPart    *mimeutil.Part // the smime.p7s part, nil when unsigned
	Signature  *smime.Verdict // nil when unsigned
	Text       *mimeutil.Part // the first text/plain part of the content
	CertPart   *mimeutil.Part // daticert.xml, nil when absent
	Data       *daticert.Data // parsed certification data, nil when absent or unreadable
	Original   *mimeutil.Part // postacert.eml (or, in an anomaly envelope, the attached message)
	Hashes     []Hash         // .hash parts replacing attachments in a breve receipt
	Problems   []error        // what is wrong or missing: typed, with the part concerned
	Deviations []string       // departures from the rules that were tolerated

	textBody string // the decoded text, once read
	textSet  bool

	// lists are the address lists of this message's header parsed so
	// far (addressList): the From field is read by the signature check
	// and by the header checks.
	lists  [4]parsedList
	nLists int
}

// parsedList is an address-list field and what mail.ParseAddressList
// made of it.
type parsedList struct {
	v     string
	boxes []*mail.Address
	err   error
}

// addressList returns mail.ParseAddressList(v), parsing each value once
// per message. The result is shared: it is only read.
func (m *Message) addressList(v string) ([]*mail.Address, error) {
	for _, p := range m.lists[:m.nLists] {
		if p.v == v {
			return p.boxes, p.err
		}
	}
	l, err := parseAddressList(v)
	if m.nLists < len(m.lists) {
		m.lists[m.nLists] = parsedList{v: v, boxes: l, err: err}
		m.nLists++
	}
	return l, err
}

// Hash is an attachment of the original replaced by its hash in a delivery
// receipt of type breve (PEC.md §6.7).
type Hash struct {
	Name string // the attachment name, without the .hash suffix
	Hex  string // the hash, lower-case hexadecimal
	Path string // MIME part path of the .hash part inside the original
}

// Certified reports whether the message may be relied on as what it
// claims to be: its signature is OK (intact, by a trusted provider that is
// the From address), the signed content establishes its kind, and no
// header outside the signature contradicts the signed content.
func (m *Message) Certified() bool {
	return m.Established && !m.outside && !m.disagrees && m.Signature != nil && m.Signature.OK()
}

// OriginalHeader returns the header of the original message carried in
// the signed content (postacert.eml, or the message an anomaly envelope
// wraps): signed, unlike the PEC message's own header. ok is false when
// there is no original.
func (m *Message) OriginalHeader() (h textproto.Header, ok bool) {
	if m.Original == nil || m.Original.Embedded == nil || m.SigPart == nil {
		return textproto.Header{}, false
	}
	return m.Original.Embedded.Header(), true
}

// Header returns the header of the PEC message, or of the input when it
// holds none.
func (m *Message) Header() textproto.Header {
	if m.Part == nil {
		return m.Root.Header()
	}
	return m.Part.Header()
}

// IsPEC reports whether a PEC message was found in the input.
func (m *Message) IsPEC() bool { return m.Part != nil }

// Parse finds and reads the PEC message in src[0:size]. An input that holds
// none (ordinary mail) gives a Message whose Part is nil and no error: the
// error is for input that cannot be read as a message at all.
func Parse(src io.ReaderAt, size int64, vopts *smime.VerifyOptions) (*Message, error) {
	if size == 0 {
		return nil, &pec.ParseError{Offset: 0, Err: fmt.Errorf("%w: %v", pec.ErrMalformed, errSourceEmpty)}
	}
	root, err := mimeutil.Scan(src, size, nil)
	if err != nil {
		return nil, &pec.ParseError{Offset: mimeutil.Offset(err), Err: scanError(err)}
	}
	m := &Message{Root: root}
	m.Part = findPEC(root)
	if m.Part == nil {
		return m, nil
	}
	m.Wrapped = m.Part != root
	if m.Wrapped {
		m.deviate("the PEC message is wrapped inside another message (part %s)", pathName(m.Part.Path))
	}
	m.collectScanProblems()
	m.locateSigned()
	m.locateContent()
	m.readCertData()
	m.classify()
	if m.SigPart != nil {
		if err := m.verify(vopts); err != nil {
			return nil, err
		}
	}
	m.crossCheck()
	return m, nil
}

// param returns the Content-Type parameter name of p, "" when absent.
func param(p *mimeutil.Part, name string) string {
	v, _ := p.Param(name)
	return v
}

func pathName(p string) string {
	if p == "" {
		return "top"
	}
	return p
}

func (m *Message) deviate(format string, args ...any) {
	m.Deviations = append(m.Deviations, fmt.Sprintf(format, args...))
}

func (m *Message) problem(part *mimeutil.Part, header string, err error) {
	pe := &pec.ParseError{Header: header, Offset: -1, Err: err}
	if part != nil {
		pe.Part = part.Path
		pe.Offset = part.Start
	}
	m.Problems = append(m.Problems, pe)
}

// isPEC reports whether the header of p carries X-Trasporto or
// X-Ricevuta.
func isPEC(p *mimeutil.Part) bool {
	return strings.TrimSpace(p.Get(pec.HeaderTransport)) != "" || strings.TrimSpace(p.Get(pec.HeaderReceipt)) != ""
}

// findPEC returns the outermost entity whose header marks a PEC message.
func findPEC(root *mimeutil.Part) *mimeutil.Part {
	if isPEC(root) {
		return root
	}
	var found *mimeutil.Part
	root.Walk(func(p *mimeutil.Part) bool {
		if p.Embedded != nil && isPEC(p.Embedded) {
			found = p.Embedded
			return false
		}
		return true
	})
	return found
}

// scanError classifies an error of the MIME scanner: pec.ErrTooLarge when
// one of its limits stopped it, pec.ErrMalformed otherwise.
func scanError(err error) error {
	if mimeutil.IsLimit(err) {
		return fmt.Errorf("%w: %w", pec.ErrTooLarge, err)
	}
	return fmt.Errorf("%w: %w", pec.ErrMalformed, err)
}

func (m *Message) collectScanProblems() {
	m.Part.Walk(func(p *mimeutil.Part) bool {
		for _, e := range p.Problems {
			off := mimeutil.Offset(e)
			if off >= 0 {
				e = errors.Unwrap(e) // the offset is in the ParseError
			}
			m.Problems = append(m.Problems, &pec.ParseError{Part: p.Path, Offset: off, Err: scanError(e)})
		}
		return true
	})
}

// locateSigned finds the multipart/signed entity: the PEC message itself or,
// when a gateway wrapped its body, the first one below it.
func (m *Message) locateSigned() {
	var signed *mimeutil.Part
	m.Part.Walk(func(p *mimeutil.Part) bool {
		if p != m.Part && p.Embedded == nil && p.MediaType == "message/rfc822" {
			return true
		}
		if p.MediaType == "multipart/signed" {
			signed = p
			return false
		}
		return p.Embedded == nil || p == m.Part
	})
	if signed == nil {
		m.problem(m.Part, "Content-Type", pec.ErrNoSignature)
		m.Content = m.Part
		return
	}
	if signed != m.Part {
		// Whatever surrounds the signed part is unsigned, and a mail
		// client shows it as part of the message.
		m.problem(signed, "", fmt.Errorf("%w: multipart/signed at part %s, not at the top of the message: the parts around it are not signed", pec.ErrUnsignedClaim, pathName(signed.Path)))
		m.outside = true
	}
	if len(signed.Children) == 0 {
		m.problem(signed, "", fmt.Errorf("%w: multipart/signed has no parts", pec.ErrMalformed))
		m.Content = signed
		return
	}
	m.Content = signed.Children[0]
	if len(signed.Children) < 2 {
		m.problem(signed, "", fmt.Errorf("%w: multipart/signed has no signature part", pec.ErrNoSignature))
		return
	}
	if len(signed.Children) > 2 {
		m.problem(signed, "", fmt.Errorf("%w: multipart/signed has %d parts instead of 2: only the first is signed", pec.ErrUnsignedClaim, len(signed.Children)))
		m.outside = true
	}
	m.SigPart = signed.Children[1]
	switch m.SigPart.MediaType {
	case smime.ContentType:
	case smime.LegacyContentType:
		m.deviate("legacy signature type %s", smime.LegacyContentType)
	default:
		m.deviate("signature part has type %s", m.SigPart.MediaType)
	}
	if proto := strings.ToLower(param(signed, "protocol")); proto != "" && proto != m.SigPart.MediaType {
		m.deviate("multipart/signed protocol %q differs from the signature part type %q", proto, m.SigPart.MediaType)
	}
}

// locateContent finds the text, daticert.xml, postacert.eml and .hash parts
// among the children of the signed content (PEC.md §7.1).
func (m *Message) locateContent() {
	c := m.Content
	children := c.Children
	if len(children) == 0 && c != m.Part {
		children = []*mimeutil.Part{c}
	}
	var xmlFallback []*mimeutil.Part
	for _, p := range children {
		name := strings.ToLower(p.Filename())
		switch {
		case m.Text == nil && p.MediaType == "text/plain" && name == "":
			m.Text = p
		case m.Text == nil && p.MediaType == "multipart/alternative":
			for _, a := range p.Children {
				if a.MediaType == "text/plain" {
					m.Text = a
					break
				}
			}
		case name == pec.CertDataName && m.CertPart == nil:
			m.CertPart = p
		case (p.MediaType == "application/xml" || p.MediaType == "text/xml") && name == "":
			xmlFallback = append(xmlFallback, p)
		case p.MediaType == "message/rfc822" || p.MediaType == "message/global":
			if m.Original == nil || name == pec.OriginalName {
				m.Original = p
			}
		case p.MediaType == "application/xml" || p.MediaType == "text/xml":
			xmlFallback = append(xmlFallback, p)
		}
	}
	if m.CertPart == nil {
		// Fall back to any XML part whose root element is postacert (PEC.md §7.1).
		for _, p := range xmlFallback {
			if looksLikeCertData(p) {
				m.CertPart = p
				m.deviate("certification data in part %s is not named %s", pathName(p.Path), pec.CertDataName)
				break
			}
		}
	}
	if m.CertPart != nil && m.CertPart.MediaType != "application/xml" {
		m.deviate("%s has type %s", pec.CertDataName, m.CertPart.MediaType)
	}
	if m.Original != nil {
		if n := m.Original.Filename(); n != "" && !strings.EqualFold(n, pec.OriginalName) {
			m.deviate("original message part is named %q", n)
		}
		m.collectHashes()
	}
}

// OriginalBody returns the original message as RFC 5322 bytes: the body of
// the Original part with its transfer encoding undone. An unknown transfer
// encoding, already listed among the problems by the scanner, gives the
// bytes as they stand, as go-message does.
func (m *Message) OriginalBody() (io.Reader, error) {
	r, err := m.Original.Body()
	if err != nil && message.IsUnknownEncoding(err) {
		return m.Original.RawBody(), nil
	}
	return r, err
}

// blank reports whether r holds nothing but white space (reading at most
// a few KiB of it).
func blank(r io.Reader) bool {
	b, _ := io.ReadAll(io.LimitReader(r, 4096))
	return len(bytes.TrimSpace(b)) == 0
}

func looksLikeCertData(p *mimeutil.Part) bool {
	body, err := p.Decoded()
	if err != nil {
		return false
	}
	head := make([]byte, 512)
	n, _ := io.ReadFull(body, head)
	return bytes.Contains(head[:n], []byte("<postacert"))
}

func (m *Message) collectHashes() {
	orig := m.Original.Embedded
	if orig == nil {
		return
	}
	orig.Walk(func(p *mimeutil.Part) bool {
		if p != orig && strings.HasPrefix(p.MediaType, "message/") {
			// A message the sender attached is the sender's: the
			// provider's .hash parts are never inside one.
			return false
		}
		if p.MediaType != "text/plain" {
			return true
		}
		name := p.Filename()
		if !strings.HasSuffix(strings.ToLower(name), pec.HashSuffix) {
			return true
		}
		body, err := p.Body()
		if err != nil {
			return true
		}
		b, _ := io.ReadAll(io.LimitReader(body, 1024))
		m.Hashes = append(m.Hashes, Hash{
			Name: name[:len(name)-len(pec.HashSuffix)],
			Hex:  strings.ToLower(strings.TrimSpace(string(b))),
			Path: p.Path,
		})
		return true
	})
}

func (m *Message) readCertData() {
	if m.CertPart == nil {
		return
	}
	// The XML as signed, transfer-decoded only: its declaration names
	// its encoding, which daticert.Parse honours.
	body, err := m.CertPart.Decoded()
	if err != nil {
		m.problem(m.CertPart, "Content-Transfer-Encoding", err)
		return
	}
	// Read as Parse does, into a scratch buffer of the decoded size:
	// Unmarshal keeps nothing of it.
	var d *daticert.Data
	scratch := mimeutil.GetScratch(m.CertPart.DecodedBound() + 1)
	b, err := mimeutil.ReadAtMost(*scratch, body, m.CertPart.DecodedBound(), daticert.MaxSize)
	if err != nil {
		err = fmt.Errorf("daticert: read: %w", err)
	} else {
		d, err = daticert.Unmarshal(b)
	}
	mimeutil.PutScratch(scratch, b)
	if err != nil {
		m.problem(m.CertPart, "", fmt.Errorf("%s: %w", pec.CertDataName, err))
		return
	}
	for _, r := range d.Repairs {
		m.deviate("%s is not well-formed XML: %s", pec.CertDataName, r)
	}
	m.Data = d
}

// verify checks the signature over the content bytes as received.
func (m *Message) verify(vopts *smime.VerifyOptions) error {
	body, err := m.SigPart.Decoded()
	if err != nil {
		m.problem(m.SigPart, "Content-Transfer-Encoding", err)
	}
	var p7s []byte
	if body != nil {
		// Read into a scratch buffer of the decoded size, not one grown
		// by doubling: a signature is a few KiB of base64, and Verify
		// keeps nothing of it.
		scratch := mimeutil.GetScratch(m.SigPart.DecodedBound() + 1)
		p7s, err = mimeutil.ReadAtMost(*scratch, body, m.SigPart.DecodedBound(), MaxSignatureSize)
		defer func() { mimeutil.PutScratch(scratch, p7s) }()
		if err != nil {
			m.problem(m.SigPart, "", fmt.Errorf("%w: signature part: %w", pec.ErrMalformed, err))
		}
		if len(p7s) > MaxSignatureSize {
			m.problem(m.SigPart, "", fmt.Errorf("%w: signature over %d bytes", pec.ErrTooLarge, MaxSignatureSize))
			p7s = nil
		}
	}
	var o smime.VerifyOptions
	if vopts != nil {
		o = *vopts
	}
	noFrom := false
	if o.From == "" {
		var lenient bool
		o.From, lenient = fromAddress(m.Part.Get("From"), m.addressList)
		noFrom = o.From == ""
		if lenient {
			m.deviate("From field is not RFC 5322; its angle address %s was used", o.From)
		}
	}
	v, err := smime.Verify(m.Content.RawReader(), p7s, &o)
	if err != nil {
		return &pec.ParseError{Part: m.Content.Path, Offset: m.Content.Start, Err: fmt.Errorf("reading signed content: %w", err)}
	}
	if noFrom {
		// Fail closed: without a From address nobody can tell whose
		// mail the signer certified (PEC.md §12.5 step 4).
		f := false
		v.FromMatches = &f
		v.Problems = append(v.Problems, smime.Problem{Code: smime.ProblemFromMismatch, Detail: "no parseable From address to match the signer"})
		m.problem(m.Part, "From", fmt.Errorf("%w: no parseable From address", pec.ErrMalformed))
	}
	// Signature bytes were supplied even when they did not decode (a
	// placeholder, invalid base64, over the limit): an empty part alone
	// means no signature.
	if !v.Present && !blank(m.SigPart.RawBody()) {
		v.Present = true
	}
	m.Signature = v
	if v.Legacy {
		m.deviate("legacy digest algorithm %s", v.Algorithm)
	}
	if v.BER {
		m.deviate("signature encoded in BER, not DER")
	}
	if v.HasProblem(smime.ProblemCanonicalized) {
		m.deviate("signed content has LF line endings, verified after CRLF canonicalisation")
	}
	return nil
}

// parseAddressList is mail.ParseAddressList: a value that is one plain
// addr-spec (dot-atoms of ASCII atext around an "@", nothing else), as
// PEC headers and certification data mostly hold, is that address
// without a name, and one mailbox written "name" <addr> (quotedNameAddr)
// is that name and address, which is what net/mail makes of them,
// without running its parser (FuzzParseAddressList compares them).
func parseAddressList(v string) ([]*mail.Address, error) {
	if plainAddrSpec(v) {
		return []*mail.Address{{Address: v}}, nil
	}
	if name, addr, ok := quotedNameAddr(v); ok {
		return []*mail.Address{{Name: name, Address: addr}}, nil
	}
	return mail.ParseAddressList(v)
}

// quotedNameAddr reads v when it is one mailbox written "name" <addr>,
// the From of every transport envelope ("Per conto di: ..."): a quoted
// display name of printable ASCII with no quoted pair and no encoded
// word, then an angle-addr holding a plainAddrSpec, with nothing but
// spaces and tabs around them. Anything else is left to the full parser
// (ok false).
func quotedNameAddr(v string) (name, addr string, ok bool) {
	s := strings.TrimLeft(v, " \t")
	if len(s) < 2 || s[0] != '"' {
		return "", "", false
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return "", "", false
	}
	name = s[1 : 1+end]
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < ' ' || c > '~' || c == '\\' {
			return "", "", false
		}
	}
	if strings.Contains(name, "=?") {
		return "", "", false
	}
	rest := strings.TrimLeft(s[2+end:], " \t")
	if len(rest) < 2 || rest[0] != '<' {
		return "", "", false
	}
	gt := strings.IndexByte(rest, '>')
	if gt < 0 || !plainAddrSpec(rest[1:gt]) || strings.TrimRight(rest[gt+1:], " \t") != "" {
		return "", "", false
	}
	return name, rest[1:gt], true
}

// plainAddrSpec reports whether v is local@domain, both dot-atoms of
// ASCII atext (RFC 5322 §3.2.3): no leading, trailing or double dot.
func plainAddrSpec(v string) bool {
	at := strings.IndexByte(v, '@')
	return at >= 0 && plainDotAtom(v[:at]) && plainDotAtom(v[at+1:])
}

func plainDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if s[i-1] == '.' {
				return false
			}
		case c < '!' || c > '~' || strings.IndexByte(`()<>[]:;@\,"`, c) >= 0:
			return false
		}
	}
	return true
}

// FromAddress returns the address of the From field, or "" when there is
// none that can be read without guessing.
func FromAddress(h textproto.Header) string {
	a, _ := fromAddress(h.Get("From"), mail.ParseAddressList)
	return a
}

// fromAddress returns the address of the From field. When RFC 5322
// parsing fails, a field holding exactly one angle-addr whose addr-spec is
// well formed gives that address, and lenient is true. Anything else gives
// "": the From check then fails closed.
//
// parse is mail.ParseAddressList, or what gives the same result.
//
// QUIRK: real receipts carry "From: no-reply@example.com
// <no-reply@example.com>", an unquoted display name with an "@".
func fromAddress(raw string, parse func(string) ([]*mail.Address, error)) (addr string, lenient bool) {
	if raw == "" {
		return "", false
	}
	l, err := parse(raw)
	if err == nil && len(l) == 1 {
		return l[0].Address, false
	}
	if err == nil {
		return "", false // none, or several: whose mail is it?
	}
	i, j := strings.IndexByte(raw, '<'), strings.IndexByte(raw, '>')
	if i < 0 || j < i || strings.Count(raw, "<") != 1 || strings.Count(raw, ">") != 1 || strings.TrimSpace(raw[j+1:]) != "" {
		return "", false
	}
	a, err := netmail.ParseAddress(raw[i : j+1])
	if err != nil {
		return "", false
	}
	return a.Address, true
}

// HashHex returns the hexadecimal SHA-1 or SHA-256 (by length of want) of b.
func HashHex(b []byte, want string) string {
	if len(want) == 64 {
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:])
	}
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}
