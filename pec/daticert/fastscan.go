package daticert

import (
	"bytes"
	"encoding/xml"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/pecsdk/pec/pec"
)

// fastScan reads b as scan does, in one linear pass without encoding/xml,
// when b is daticert.xml as providers write it: UTF-8, an optional XML
// declaration, elements with plain (unprefixed) names and attributes, text
// with the five predefined entities and character references. Anything
// else (a comment, a processing instruction, CDATA, a document type, a
// namespace, another encoding, a control character, a construct it is not
// sure encoding/xml reads the same way) and any defect make it give up
// (ok false): scan then reads b with encoding/xml, which says what is
// wrong. So fastScan never accepts a document the strict decoder refuses,
// and what it keeps is what scan keeps (FuzzFastScan compares them). base
// is added to offsets, as in scan.
func fastScan(b []byte, base int64) (s *scanned, ok bool) {
	f := fastScanner{b: b}
	defer f.release()
	f.space()
	if bytes.HasPrefix(f.b[f.i:], []byte("<?xml")) {
		if !f.declaration() {
			return nil, false
		}
	}
	f.space()
	s = &scanned{}
	var stackArr [MaxDepth]fastLevel
	stack := stackArr[:0]
	// The elements are allocated a few at a time.
	var slab []element
	newElement := func(attrs []xml.Attr, off int64) *element {
		if len(slab) == cap(slab) {
			slab = make([]element, 0, 16)
		}
		slab = append(slab, element{attrs: attrs, offset: off})
		return &slab[len(slab)-1]
	}
	for {
		if f.i >= len(f.b) || f.b[f.i] != '<' {
			return nil, false
		}
		off := base + int64(f.i)
		f.i++
		if f.i < len(f.b) && f.b[f.i] == '/' {
			// End tag: the name of the open element, space, '>'.
			f.i++
			name, ok := f.name()
			if !ok || len(stack) == 0 || name != stack[len(stack)-1].name {
				return nil, false
			}
			f.space()
			if !f.consume('>') {
				return nil, false
			}
			stack = stack[:len(stack)-1]
		} else {
			name, ok := f.name()
			if !ok || len(stack) >= MaxDepth {
				return nil, false
			}
			attrs, empty, ok := f.attributes()
			if !ok {
				return nil, false
			}
			lv := fastLevel{name: name}
			switch {
			case len(stack) == 0:
				if name != elRoot {
					return nil, false
				}
				s.root = newElement(attrs, off)
			case stack[len(stack)-1].path != "" || len(stack) == 1:
				p, i := childPath(stack[len(stack)-1].path, name)
				switch {
				case i < 0:
				case dtdContainer[i]:
					s.elems.addAt(i, newElement(attrs, off))
					lv.path = p
				case dtdLeaf[i]:
					lv.elem = newElement(attrs, off)
					s.elems.addAt(i, lv.elem)
				}
			}
			if !empty {
				stack = append(stack, lv)
			}
		}
		if len(stack) == 0 {
			break // the root element has ended
		}
		// Character data up to the next tag, kept for a leaf.
		if !f.charData(stack[len(stack)-1].elem) {
			return nil, false
		}
	}
	f.space()
	if f.i != len(f.b) {
		return nil, false
	}
	if f.text != nil {
		s.text = string(*f.text)
	}
	return s, true
}

// fastLevel is an open element: its name, and as in scan its path when it
// is a container of the DTD, or the leaf whose text is collected.
type fastLevel struct {
	name string
	path string
	elem *element
}

type fastScanner struct {
	b    []byte
	i    int
	text *[]byte // the decoded text of the leaves, one after the other (pooled)
}

// textBufs are the buffers of fastScanners' text, reused from one scan to
// the next: the text is copied into one string at the end.
var textBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// maxTextBuf bounds the buffers kept for reuse.
const maxTextBuf = 64 << 10

func (f *fastScanner) release() {
	if f.text != nil && cap(*f.text) <= maxTextBuf {
		*f.text = (*f.text)[:0]
		textBufs.Put(f.text)
	}
	f.text = nil
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func (f *fastScanner) space() {
	for f.i < len(f.b) && isXMLSpace(f.b[f.i]) {
		f.i++
	}
}

func (f *fastScanner) consume(c byte) bool {
	if f.i < len(f.b) && f.b[f.i] == c {
		f.i++
		return true
	}
	return false
}

// name reads an ASCII name without a colon: a letter or '_', then
// letters, digits, '_', '-', '.'.
func (f *fastScanner) name() (string, bool) {
	start := f.i
	for f.i < len(f.b) {
		c := f.b[f.i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || f.i > start && (c >= '0' && c <= '9' || c == '-' || c == '.') {
			f.i++
			continue
		}
		break
	}
	if f.i == start {
		return "", false
	}
	return internName(f.b[start:f.i]), true
}

// internName returns the names of the DTD without allocating.
func internName(b []byte) string {
	for _, n := range dtdNames {
		if string(b) == n {
			return n
		}
	}
	return string(b)
}

var dtdNames = [...]string{elRoot, elHeader, elSender, elRecipient, elReplyTo, elSubject, elData, elProvider, elDate,
	elDay, elClock, elID, elMsgID, elReceipt, elDelivery, elReception, elExtendedErr, attrType, attrError, attrZone}

// dtdPaths are the paths of the elements of the DTD below the root.
var dtdPaths = [...]string{pathHeader, pathSender, pathRecipient, pathReplyTo, pathSubject, pathData, pathProvider,
	pathDate, pathDay, pathClock, pathID, pathMsgID, pathReceipt, pathDelivery, pathReception, pathExtendedErr}

// childPath returns parent + "/" + name (name alone when parent is ""),
// without allocating for a path of the DTD, and its index in dtdPaths,
// -1 when it is not one.
func childPath(parent, name string) (string, int) {
	if parent == "" {
		return name, pathIndex(name)
	}
	n := len(parent)
	for i, p := range dtdPaths {
		if len(p) == n+1+len(name) && p[:n] == parent && p[n] == '/' && p[n+1:] == name {
			return p, i
		}
	}
	return parent + "/" + name, -1
}

// dtdContainer and dtdLeaf say, by index in dtdPaths, which paths are
// containers and leaves: containers and leaves without a map look-up.
var dtdContainer, dtdLeaf = func() (c, l [len(dtdPaths)]bool) {
	for i, p := range dtdPaths {
		c[i], l[i] = containers[p], leaves[p]
	}
	return c, l
}()

// declaration reads <?xml version="1.0" encoding="UTF-8" standalone="…"?>,
// encoding and standalone optional, encoding UTF-8 only.
func (f *fastScanner) declaration() bool {
	f.i += len("<?xml")
	seen := 0
	for {
		hadSpace := f.i < len(f.b) && isXMLSpace(f.b[f.i])
		f.space()
		if bytes.HasPrefix(f.b[f.i:], []byte("?>")) {
			f.i += 2
			return seen > 0
		}
		if !hadSpace {
			return false
		}
		name, ok := f.name()
		if !ok {
			return false
		}
		f.space()
		if !f.consume('=') {
			return false
		}
		f.space()
		v, ok := f.quoted()
		if !ok {
			return false
		}
		switch {
		case name == "version" && seen == 0 && string(v) == "1.0":
			seen = 1
		case name == "encoding" && seen == 1 && (bytes.EqualFold(v, []byte("utf-8"))):
			seen = 2
		case name == "standalone" && seen >= 1 && seen < 3 && (string(v) == "yes" || string(v) == "no"):
			seen = 3
		default:
			return false
		}
	}
}

// quoted reads a quoted value holding no markup, reference or white space
// other than ' '.
func (f *fastScanner) quoted() ([]byte, bool) {
	if f.i >= len(f.b) || f.b[f.i] != '"' && f.b[f.i] != '\'' {
		return nil, false
	}
	q := f.b[f.i]
	end := bytes.IndexByte(f.b[f.i+1:], q)
	if end < 0 {
		return nil, false
	}
	v := f.b[f.i+1 : f.i+1+end]
	f.i += end + 2
	return v, true
}

// attributes reads the attributes of a start tag and its end, '>' or
// "/>". Values are decoded; a value holding a tab, a line break, '<' or
// a second attribute of the same name makes it give up.
func (f *fastScanner) attributes() (attrs []xml.Attr, empty, ok bool) {
	for {
		hadSpace := f.i < len(f.b) && isXMLSpace(f.b[f.i])
		f.space()
		if f.i >= len(f.b) {
			return nil, false, false
		}
		switch f.b[f.i] {
		case '>':
			f.i++
			return attrs, false, true
		case '/':
			f.i++
			return attrs, true, f.consume('>')
		}
		if !hadSpace {
			return nil, false, false
		}
		name, ok := f.name()
		if !ok || name == "xmlns" {
			return nil, false, false
		}
		f.space()
		if !f.consume('=') {
			return nil, false, false
		}
		f.space()
		raw, ok := f.quoted()
		if !ok {
			return nil, false, false
		}
		for _, a := range attrs {
			if a.Name.Local == name {
				return nil, false, false
			}
		}
		var v string
		if bytes.IndexByte(raw, '&') < 0 {
			// No reference: the value is raw itself, when it passes.
			if !decodeText(nil, raw, true) {
				return nil, false, false
			}
			v = internValue(raw)
		} else {
			var d []byte
			if !decodeText(&d, raw, true) {
				return nil, false, false
			}
			v = string(d)
		}
		if attrs == nil {
			attrs = make([]xml.Attr, 0, 2)
		}
		attrs = append(attrs, xml.Attr{Name: xml.Name{Local: name}, Value: v})
	}
}

// internValue returns the attribute values of the DTD without allocating.
func internValue(b []byte) string {
	for _, v := range attrValues {
		if string(b) == v {
			return v
		}
	}
	return string(b)
}

var attrValues = [...]string{
	string(pec.CertAcceptance), string(pec.CertNonAcceptance), string(pec.CertTakeInCharge), string(pec.CertDelivery),
	string(pec.CertTransport), string(pec.CertDeliveryError), string(pec.CertDeliveryWarning), string(pec.CertVirusDetected),
	string(pec.ErrorNone), string(pec.ErrorNoDest), string(pec.ErrorNoDomain), string(pec.ErrorVirus), string(pec.ErrorOther),
	string(pec.ReceiptFull), string(pec.ReceiptShort), string(pec.ReceiptSummary),
	string(pec.RecipientCertified), string(pec.RecipientExternal), "+0100", "+0200",
}

// charData reads the text up to the next '<', appending it decoded to
// the text of e when e is not nil.
func (f *fastScanner) charData(e *element) bool {
	end := bytes.IndexByte(f.b[f.i:], '<')
	if end < 0 {
		return false
	}
	raw := f.b[f.i : f.i+end]
	f.i += end
	if bytes.Contains(raw, []byte("]]>")) {
		return false
	}
	if e == nil {
		return decodeText(nil, raw, false)
	}
	if f.text == nil {
		f.text = textBufs.Get().(*[]byte)
	}
	t := f.text
	textTo(t, e)
	if !decodeText(t, raw, false) {
		return false
	}
	e.hi = int32(len(*t))
	return true
}

// decodeText appends raw to *out (when out is not nil: else it only
// checks raw) with references replaced and line endings normalised to
// LF, as encoding/xml does; it gives up on a
// character XML forbids, invalid UTF-8, an unknown entity, and in an
// attribute value on any white space but ' ' and on '<'.
func decodeText(out *[]byte, raw []byte, attr bool) bool {
	keep := out != nil
	var o []byte
	if keep {
		o = slices.Grow(*out, len(raw))
	}
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '&':
			semi := bytes.IndexByte(raw[i:], ';')
			if semi < 0 {
				return false
			}
			r, ok := decodeReference(raw[i+1 : i+semi])
			if !ok {
				return false
			}
			if keep {
				o = utf8.AppendRune(o, r)
			}
			i += semi + 1
			continue
		case c == '\r':
			if attr {
				return false
			}
			if keep {
				o = append(o, '\n')
			}
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
		case c == '\n' || c == '\t':
			if attr {
				return false
			}
			if keep {
				o = append(o, c)
			}
		case c < 0x20 || attr && c == '<':
			return false
		case c < utf8.RuneSelf:
			if keep {
				o = append(o, c)
			}
		default:
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && n == 1 || !xmlChar(r) {
				return false
			}
			if keep {
				o = append(o, raw[i:i+n]...)
			}
			i += n
			continue
		}
		i++
	}
	if keep {
		*out = o
	}
	return true
}

// decodeReference decodes the name of an entity or character reference (what
// is between '&' and ';').
func decodeReference(name []byte) (rune, bool) {
	switch string(name) {
	case "amp":
		return '&', true
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "apos":
		return '\'', true
	case "quot":
		return '"', true
	}
	if len(name) < 2 || name[0] != '#' {
		return 0, false
	}
	digits, b := name[1:], 10
	if digits[0] == 'x' {
		digits, b = digits[1:], 16
	}
	if len(digits) == 0 || len(digits) > 8 {
		return 0, false
	}
	for _, c := range digits {
		if !(c >= '0' && c <= '9' || b == 16 && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(string(digits), b, 32)
	if err != nil || !xmlChar(rune(n)) {
		return 0, false
	}
	return rune(n), true
}
