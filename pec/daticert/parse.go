package daticert

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pecsdk/pec/pec"
)

// Parse reads daticert.xml from r and returns its data. It reads at most
// MaxSize bytes, and is tolerant of what real providers write (see the
// package documentation); the errors it returns for unusable input are
// *ParseError values. The result is not validated: call Validate for the
// strict checks.
func Parse(r io.Reader) (*Data, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("daticert: read: %w", err)
	}
	return Unmarshal(b)
}

// Unmarshal parses daticert.xml held in b, as Parse does.
func Unmarshal(b []byte) (*Data, error) {
	if len(b) > MaxSize {
		return nil, &ParseError{Offset: MaxSize, Err: fmt.Errorf("%w (limit %d bytes)", pec.ErrTooLarge, MaxSize)}
	}
	s, err := scan(b)
	var repairs []string
	if err != nil && errors.Is(err, pec.ErrMalformed) && !declaresEntities(b) {
		// Not well-formed: mend what real providers get wrong and read
		// again; the first error stands when that does not help.
		if fixed, notes := repair(b); notes != nil {
			if s2, err2 := scan(fixed); err2 == nil {
				s, err, repairs = s2, nil, notes
			}
		}
	}
	if err != nil {
		return nil, err
	}
	d, err := s.data()
	if d != nil {
		d.Repairs = repairs
	}
	return d, err
}

// declaresEntities reports whether b has a document type declaration,
// where entities are declared: such a document is not repaired, its
// references are never taken for bare "&" (PEC.md §8: daticert.xml has
// none).
func declaresEntities(b []byte) bool {
	return bytes.Contains(b, []byte("<!DOCTYPE")) || bytes.Contains(b, []byte("<!ENTITY")) ||
		bytes.Contains(bytes.ToUpper(b), []byte("<!DOCTYPE"))
}

// element is one occurrence of a known element of the DTD.
type element struct {
	attrs []xml.Attr
	// lo and hi place the character data directly inside it in
	// scanned.text, where the text of every element is kept.
	lo, hi int32
	offset int64
}

// textTo prepares e for more text appended to t: its text, if any, is
// made the end of t (moved there when the text of others followed it).
func textTo(t *[]byte, e *element) {
	switch {
	case e.lo == e.hi:
		e.lo, e.hi = int32(len(*t)), int32(len(*t))
	case int(e.hi) != len(*t):
		lo := len(*t)
		*t = append(*t, (*t)[e.lo:e.hi]...)
		e.lo, e.hi = int32(lo), int32(len(*t))
	}
}

// attr returns the value of the namespace-less attribute name.
func (e *element) attr(name string) (string, bool) {
	for _, a := range e.attrs {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// containers are the elements of the DTD that hold other elements; the
// leaves are the elements that hold text (or nothing, as ricevuta). Paths are
// relative to the root.
var (
	containers = map[string]bool{pathHeader: true, pathData: true, pathDate: true}
	leaves     = map[string]bool{
		pathSender: true, pathRecipient: true, pathReplyTo: true, pathSubject: true,
		pathProvider: true, pathDay: true, pathClock: true, pathID: true, pathMsgID: true,
		pathReceipt: true, pathDelivery: true, pathReception: true, pathExtendedErr: true,
	}
)

// scanned is daticert.xml reduced to the elements of the DTD, by path.
type scanned struct {
	root  *element
	elems elemsByPath
	text  string // the text of the elements, one after the other
}

// textOf returns the character data directly inside e, as read.
func (s *scanned) textOf(e *element) string { return s.text[e.lo:e.hi] }

// elemsByPath holds the elements of each path of the DTD (dtdPaths), in
// the order of the document: an array, not a map, since the paths are
// known. The first element of a path is held in first, so that a path
// with one element, as most have, needs no slice of its own.
type elemsByPath struct {
	by    [len(dtdPaths)][]*element
	first [len(dtdPaths)]*element
}

// pathIndex returns the index of p in dtdPaths, -1 when not there.
func pathIndex(p string) int {
	for i, d := range dtdPaths {
		if d == p {
			return i
		}
	}
	return -1
}

// add appends e to the elements of path p, a path of the DTD.
func (es *elemsByPath) add(p string, e *element) {
	if i := pathIndex(p); i >= 0 {
		es.addAt(i, e)
	}
}

// addAt appends e to the elements of dtdPaths[i].
func (es *elemsByPath) addAt(i int, e *element) {
	if es.by[i] == nil {
		es.first[i] = e
		es.by[i] = es.first[i : i+1 : i+1]
		return
	}
	es.by[i] = append(es.by[i], e)
}

// get returns the elements of path p.
func (es *elemsByPath) get(p string) []*element {
	if i := pathIndex(p); i >= 0 {
		return es.by[i]
	}
	return nil
}

// level is an open element while scanning.
type level struct {
	path string   // path from the root when a container of the DTD, else ""
	elem *element // the element whose text is collected, or nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// scan reads the token stream of b with a strict decoder, bounding the
// nesting depth, and keeps the elements of the DTD. Elements it does not
// know, and the text of containers, are skipped. The documents providers
// write are read by fastScan; the others, and every malformed one, by
// encoding/xml.
func scan(b []byte) (*scanned, error) {
	base := int64(0)
	if bytes.HasPrefix(b, utf8BOM) {
		b, base = b[len(utf8BOM):], int64(len(utf8BOM))
	}
	if s, ok := fastScan(b, base); ok {
		return s, nil
	}
	return xmlScan(b, base)
}

// xmlScan is scan with encoding/xml, for b without its BOM (base bytes
// into the input).
func xmlScan(b []byte, base int64) (*scanned, error) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true // an undefined entity is an error; DTD entities are never expanded
	// encoding/xml honours an encoding in every <?xml ...?>, not only in
	// the declaration; a stack of single-byte decoders doubles every
	// non-ASCII byte at each level. Allow one switch.
	switched := false
	dec.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		if switched {
			return nil, errors.New("encoding declared again")
		}
		switched = true
		return charsetReader(label, r)
	}
	s := &scanned{}
	var stack []level
	var text []byte // the text of the elements (scanned.text)
	done := false   // the root element has ended
	for {
		off := base + dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, syntaxError(base+dec.InputOffset(), err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if done {
				return nil, &ParseError{Offset: off, Err: fmt.Errorf("%w: element <%s> after the root element", pec.ErrMalformed, t.Name.Local)}
			}
			if len(stack) >= MaxDepth {
				return nil, &ParseError{Offset: off, Err: fmt.Errorf("%w (limit %d)", ErrTooDeep, MaxDepth)}
			}
			if len(stack) == 0 {
				if t.Name.Local != elRoot {
					return nil, &ParseError{Path: t.Name.Local, Offset: off, Err: ErrNotDaticert}
				}
				s.root = &element{attrs: t.Copy().Attr, offset: off}
				stack = append(stack, level{elem: nil})
				continue
			}
			var next level
			if parent := stack[len(stack)-1]; parent.path != "" || len(stack) == 1 {
				p := t.Name.Local
				if parent.path != "" {
					p = parent.path + "/" + p
				}
				switch {
				case containers[p]:
					e := &element{attrs: t.Copy().Attr, offset: off}
					s.elems.add(p, e)
					next.path = p
				case leaves[p]:
					next.elem = &element{attrs: t.Copy().Attr, offset: off}
					s.elems.add(p, next.elem)
				}
			}
			stack = append(stack, next)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				done = true
			}
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return nil, &ParseError{Offset: off, Err: fmt.Errorf("%w: text outside the root element", pec.ErrMalformed)}
				}
				continue
			}
			// QUIRK: text directly inside a container, such as the stray "a"
			// after </risposte> in an errore-consegna of a FAKE PEC
			// (anonymised Aruba-platform) notice published by
			// biagioT/java-pec-parser, is ignored.
			if e := stack[len(stack)-1].elem; e != nil {
				textTo(&text, e)
				text = append(text, t...)
				e.hi = int32(len(text))
			}
		}
	}
	if s.root == nil {
		return nil, &ParseError{Offset: base + dec.InputOffset(), Err: fmt.Errorf("%w: no root element", pec.ErrMalformed)}
	}
	if !done { // the strict decoder reports this itself; kept as a guard
		return nil, &ParseError{Offset: base + dec.InputOffset(), Err: fmt.Errorf("%w: unexpected end of input", pec.ErrMalformed)}
	}
	s.text = string(text)
	return s, nil
}

// syntaxError wraps an error of the decoder so that it matches
// pec.ErrMalformed and still unwraps to the decoder's own error.
func syntaxError(off int64, err error) error {
	return &ParseError{Offset: off, Err: fmt.Errorf("%w: %w", pec.ErrMalformed, err)}
}

// converter turns scanned elements into Data, keeping the first error.
type converter struct {
	s   *scanned
	err error
}

func (c *converter) fail(path string, off int64, err error) {
	if c.err == nil {
		c.err = &ParseError{Path: elRoot + "/" + path, Offset: off, Err: err}
	}
}

// one returns the only element at path, or nil. parent is the enclosing
// element, whose offset a missing element reports; a nil parent means the
// parent is itself missing and was reported.
func (c *converter) one(path string, parent *element, required bool) *element {
	if parent == nil {
		return nil
	}
	es := c.s.elems.get(path)
	switch {
	case len(es) > 1:
		c.fail(path, es[1].offset, ErrDuplicate)
		return nil
	case len(es) == 0:
		if required {
			c.fail(path, parent.offset, ErrMissing)
		}
		return nil
	}
	return es[0]
}

// text returns the trimmed text of the only element at path, or "".
func (c *converter) text(path string, parent *element, required bool) string {
	if e := c.one(path, parent, required); e != nil {
		return strings.TrimSpace(c.s.textOf(e))
	}
	return ""
}

// attrPath returns the path of attribute name of the element at path.
func attrPath(path, name string) string {
	if path == "" {
		return "@" + name
	}
	return path + "/@" + name
}

// enum parses the attribute name of e with parse; a missing attribute is
// def, or an error when def is "".
func enum[T ~string](c *converter, path string, e *element, name string, def T, parse func(string) (T, error)) T {
	if e == nil {
		return ""
	}
	v, ok := e.attr(name)
	if !ok {
		if def == "" {
			c.fail(attrPath(path, name), e.offset, ErrMissing)
		}
		return def
	}
	t, err := parse(v)
	if err != nil {
		c.fail(attrPath(path, name), e.offset, err)
		return ""
	}
	return t
}

// data converts the scanned elements, checking what the DTD requires. Any
// order of the children is accepted.
func (s *scanned) data() (*Data, error) {
	c := &converter{s: s}
	root := s.root
	d := &Data{}
	d.Type = enum(c, "", root, attrType, "", pec.ParseCertType)
	d.Error = enum(c, "", root, attrError, pec.ErrorNone, pec.ParseErrorCode)

	head := c.one(pathHeader, root, true)
	d.Sender = c.text(pathSender, head, true)
	if head != nil {
		es := s.elems.get(pathRecipient)
		if len(es) == 0 {
			c.fail(pathRecipient, head.offset, ErrMissing)
		}
		if len(es) > 0 {
			d.Recipients = make([]Recipient, 0, len(es))
		}
		for i, e := range es {
			// enum(c, p, e, attrType, pec.RecipientCertified, ...), the
			// path p made only for an error.
			t := pec.RecipientCertified
			if v, ok := e.attr(attrType); ok {
				var err error
				if t, err = pec.ParseRecipientType(v); err != nil {
					p := pathRecipient + "[" + strconv.Itoa(i+1) + "]"
					c.fail(attrPath(p, attrType), e.offset, err)
					t = ""
				}
			}
			d.Recipients = append(d.Recipients, Recipient{Address: strings.TrimSpace(s.textOf(e)), Type: t})
		}
	}
	d.ReplyTo = c.text(pathReplyTo, head, true)
	d.Subject = c.text(pathSubject, head, false)

	dati := c.one(pathData, root, true)
	d.Provider = c.text(pathProvider, dati, true)
	if date := c.one(pathDate, dati, true); date != nil {
		zone, ok := date.attr(attrZone)
		if !ok {
			c.fail(attrPath(pathDate, attrZone), date.offset, ErrMissing)
		}
		day := c.one(pathDay, date, true)
		clock := c.one(pathClock, date, true)
		if ok && day != nil && clock != nil {
			t, err := pec.ParseDate(s.textOf(day), s.textOf(clock), zone)
			if err != nil {
				p, off := attrPath(pathDate, attrZone), date.offset
				var ve *pec.ValueError
				if errors.As(err, &ve) && ve.What == elDay {
					p, off = pathDay, day.offset
				} else if errors.As(err, &ve) && ve.What == elClock {
					p, off = pathClock, clock.offset
				}
				c.fail(p, off, err)
			}
			d.Time = t
		}
	}
	d.ID = c.text(pathID, dati, true)
	d.MsgID = c.text(pathMsgID, dati, false)
	d.ReceiptType = enum(c, pathReceipt, c.one(pathReceipt, dati, false), attrType, "", pec.ParseReceiptType)
	d.Delivery = c.text(pathDelivery, dati, false)
	if dati != nil {
		for _, e := range s.elems.get(pathReception) {
			d.Receipts = append(d.Receipts, strings.TrimSpace(s.textOf(e)))
		}
	}
	d.ExtendedError = c.text(pathExtendedErr, dati, false)
	if c.err != nil {
		return nil, c.err
	}

	// QUIRK: older provider specifications named the recipient of a
	// rilevazione-virus notice in ricezione; later ones moved it to consegna
	// (PEC.md §17 item 21, seen in open-source PEC parsers). Read the old
	// form as the new one; Validate refuses to write the old form.
	if d.Type == pec.CertVirusDetected && d.Delivery == "" && len(d.Receipts) == 1 {
		d.Delivery, d.Receipts = d.Receipts[0], nil
	}
	return d, nil
}
