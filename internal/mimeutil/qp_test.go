package mimeutil

import (
	"bytes"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strings"
	"testing"
	"testing/iotest"
)

var qpCases = []string{
	"",
	"plain text\r\n",
	"Perch=E8 s=EC\r\nluned=ec.\r\n",
	"soft=\r\nbreak=\nhere",
	"trailing spaces   \r\nand tabs\t\t\n",
	"= not hex =ZZ =4",
	"ends with =",
	"=\r\n",
	"bad =\r after",
	"soft= \t\r\nok",
	"invalid \x01 byte",
	"del \x7f byte",
	"eight bit \xe8\xec\r\n",
	"lone\rcr\r\n",
	"x=A\r\n",
	"=0\r\n",
	strings.Repeat("a", 5000) + "\r\n",
	strings.Repeat("b", 4095) + "=\r\nc",
	strings.Repeat("c", 4096) + "\nd",
	strings.Repeat("=41", 2000) + "\r\n",
}

// qpBoth decodes in with the standard library and with qpReader, through
// a reader that gives one byte at a time when oneByte.
func qpBoth(in []byte, oneByte bool) (want, got string) {
	src := func() io.Reader {
		if oneByte {
			return iotest.OneByteReader(bytes.NewReader(in))
		}
		return bytes.NewReader(in)
	}
	w, werr := io.ReadAll(quotedprintable.NewReader(src()))
	g, gerr := io.ReadAll(newQPReader(src()))
	// Read a byte at a time gives the same: what is left of a line
	// stays valid from one Read to the next.
	if g1, err := io.ReadAll(iotest.OneByteReader(newQPReader(src()))); !bytes.Equal(g1, g) || fmt.Sprint(err) != fmt.Sprint(gerr) {
		return fmt.Sprintf("%q %v", w, werr), fmt.Sprintf("one byte at a time %q %v, Read %q %v", g1, err, g, gerr)
	}
	// WriteTo, which io.Copy takes, gives what Read gives.
	var wt bytes.Buffer
	if _, err := newQPReader(src()).WriteTo(&wt); !bytes.Equal(wt.Bytes(), g) || fmt.Sprint(err) != fmt.Sprint(gerr) {
		return fmt.Sprintf("%q %v", w, werr), fmt.Sprintf("WriteTo %q %v, Read %q %v", wt.Bytes(), err, g, gerr)
	}
	return fmt.Sprintf("%q %v", w, werr), fmt.Sprintf("%q %v", g, gerr)
}

// TestQuotedPrintable: qpReader gives the bytes and errors of
// mime/quotedprintable.
func TestQuotedPrintable(t *testing.T) {
	for i, in := range qpCases {
		for _, one := range []bool{false, true} {
			if want, got := qpBoth([]byte(in), one); got != want {
				t.Errorf("case %d (one byte %v):\n got %.200s\nwant %.200s", i, one, got, want)
			}
		}
	}
}

// FuzzQuotedPrintable: on any input, qpReader gives the bytes and errors
// of mime/quotedprintable.
func FuzzQuotedPrintable(f *testing.F) {
	for _, in := range qpCases {
		f.Add([]byte(in), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, oneByte bool) {
		if want, got := qpBoth(in, oneByte); got != want {
			t.Fatalf("\n got %.300s\nwant %.300s", got, want)
		}
	})
}

// TestPlainRun checks the eight-at-a-time run of plain bytes against
// qpPlain: it never passes a byte that is not plain ASCII, and stops
// only within eight bytes of one that qpPlain would stop at or of the
// end, or at a byte qpPlain passes but the run leaves to it.
func TestPlainRun(t *testing.T) {
	for c := range 256 {
		for pos := range 16 {
			line := bytes.Repeat([]byte("a"), 16)
			line[pos] = byte(c)
			j := plainRun(line, 0)
			plain := c >= 0x20 && c <= 0x7e && c != '='
			switch {
			case j > pos && !plain:
				t.Fatalf("byte %#x at %d: run to %d passes it", c, pos, j)
			case plain && j != 16-16%8:
				t.Fatalf("byte %#x at %d: run stops at %d", c, pos, j)
			case !plain && j < pos-pos%8:
				t.Fatalf("byte %#x at %d: run stops early at %d", c, pos, j)
			}
		}
	}
}
