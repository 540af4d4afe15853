package pecmsg

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/emersion/go-message/textproto"

	"github.com/pecsdk/pec/pec"
)

// MaxHeaderSize bounds the header of an original message read by a builder.
const MaxHeaderSize = 1 << 20

// Original is an original message being wrapped: its header, parsed, and the
// rest of it, still unread.
type Original struct {
	Header textproto.Header
	Body   io.Reader
	Has8   bool // the message may hold 8-bit bytes
}

// ReadOriginal reads the header of an original message. When r offers
// random access the whole message is scanned for 8-bit bytes; otherwise it
// is assumed to hold some (an 8bit label is always correct).
func ReadOriginal(r io.Reader) (*Original, error) {
	has8 := true
	if ra, ok := r.(sizedReaderAt); ok {
		has8 = scan8bit(ra)
	}
	lr := &io.LimitedReader{R: r, N: MaxHeaderSize}
	br := bufio.NewReader(lr)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		if lr.N <= 0 {
			return nil, &pec.ParseError{Part: "", Offset: MaxHeaderSize, Err: fmt.Errorf("%w: original header over %d bytes", pec.ErrTooLarge, MaxHeaderSize)}
		}
		if errors.Is(err, io.EOF) && h.Len() > 0 {
			return &Original{Header: h, Body: bytes.NewReader(nil), Has8: has8}, nil
		}
		return nil, &pec.ParseError{Offset: -1, Err: fmt.Errorf("%w: original message header: %w", pec.ErrMalformed, err)}
	}
	lr.N = math.MaxInt64
	return &Original{Header: h, Body: br, Has8: has8}, nil
}

func scan8bit(ra sizedReaderAt) bool {
	buf := make([]byte, 32<<10)
	var off int64
	for off < ra.Size() {
		n, err := ra.ReadAt(buf, off)
		for _, c := range buf[:n] {
			if c >= 0x80 {
				return true
			}
		}
		off += int64(n)
		if err != nil {
			break
		}
	}
	return false
}

// WriteTo writes the original message, its header first.
func (o *Original) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	if err := textproto.WriteHeader(cw, o.Header); err != nil {
		return cw.n, err
	}
	_, err := io.Copy(cw, o.Body)
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
