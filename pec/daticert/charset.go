package daticert

import (
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// Real daticert.xml files are UTF-8 (PEC.md §8.3, RFC 6109 §4.3.3). The
// single-byte Latin encodings below are accepted when the XML declaration
// names them, which is what a provider writing ISO-8859-1 does; encoding/xml
// handles UTF-8 itself and asks charsetReader for anything else.

// latin1 maps every byte to the code point of the same value (ISO-8859-1).
var latin1 = func() *[256]rune {
	var t [256]rune
	for i := range t {
		t[i] = rune(i)
	}
	return &t
}()

// windows1252 is latin1 with the printable characters Windows puts in
// 0x80–0x9F; the five unassigned bytes keep their C1 code points, as in the
// WHATWG Encoding Standard.
var windows1252 = func() *[256]rune {
	t := *latin1
	hi := [32]rune{
		0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
		0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
		0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
		0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
	}
	copy(t[0x80:0xA0], hi[:])
	return &t
}()

// latin9 is ISO-8859-15: latin1 with the euro sign and seven other letters.
var latin9 = func() *[256]rune {
	t := *latin1
	t[0xA4], t[0xA6], t[0xA8], t[0xB4] = 0x20AC, 0x0160, 0x0161, 0x017D
	t[0xB8], t[0xBC], t[0xBD], t[0xBE] = 0x017E, 0x0152, 0x0153, 0x0178
	return &t
}()

// charsets maps the lower-cased labels of the accepted encodings (IANA names
// and the usual aliases) to their tables; nil means UTF-8 or a subset of it.
var charsets = map[string]*[256]rune{
	"utf8": nil, "us-ascii": nil, "ascii": nil, "iso646-us": nil, "ansi_x3.4-1968": nil,
	"iso-8859-1": latin1, "iso8859-1": latin1, "iso_8859-1": latin1, "latin1": latin1,
	"latin-1": latin1, "l1": latin1, "cp819": latin1, "ibm819": latin1,
	"iso-ir-100": latin1, "csisolatin1": latin1, "iso_8859-1:1987": latin1,
	"windows-1252": windows1252, "cp1252": windows1252, "x-cp1252": windows1252,
	"iso-8859-15": latin9, "iso8859-15": latin9, "iso_8859-15": latin9,
	"latin-9": latin9, "latin9": latin9, "l9": latin9,
}

// charsetReader is the xml.Decoder CharsetReader of the package.
func charsetReader(label string, r io.Reader) (io.Reader, error) {
	table, ok := charsets[strings.ToLower(strings.TrimSpace(label))]
	if !ok {
		return nil, errors.New("unsupported encoding")
	}
	if table == nil {
		return r, nil
	}
	return &byteReader{r: r, table: table}, nil
}

// byteReader decodes a single-byte encoding into UTF-8.
type byteReader struct {
	r       io.Reader
	table   *[256]rune
	in      [512]byte
	out     []byte // decoded bytes not yet returned
	pending []byte // the unread tail of out
	err     error
}

func (c *byteReader) Read(p []byte) (int, error) {
	for len(c.pending) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		n, err := c.r.Read(c.in[:])
		c.err = err
		out := c.out[:0]
		for _, b := range c.in[:n] {
			if b < utf8.RuneSelf {
				out = append(out, b)
			} else {
				out = utf8.AppendRune(out, c.table[b])
			}
		}
		c.out, c.pending = out, out
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}
