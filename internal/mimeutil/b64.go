package mimeutil

import (
	"encoding/base64"
	"encoding/binary"
	"io"
)

// b64In is the part of a b64Reader's buffer that holds input; the rest
// holds decoded output (3 bytes for every 4 of input).
const b64In = copyBufSize / 2

// b64Reader decodes a base64 body (RFC 2045 §6.8) a block at a time: it
// reads a block of the raw body into a pooled buffer, drops the line
// breaks and the spaces and tabs some senders indent lines with, and
// decodes every whole quantum of the block in one call. It yields what
// base64.NewDecoder over those bytes yields: the same bytes, the same
// base64.CorruptInputError (its offset is within a block, as the
// decoder's is within its own), and io.ErrUnexpectedEOF for a trailing
// partial quantum.
type b64Reader struct {
	r      io.Reader
	buf    *[]byte // pooled; nil before the first read and once done
	lo     int     // (*buf)[lo:hi] is input not yet decoded
	hi     int
	out    []byte // decoded bytes not yet returned, in (*buf)[b64In:]
	srcErr error  // the error reading r returned
	err    error  // returned once out is drained
}

func newB64Reader(r io.Reader) *b64Reader { return &b64Reader{r: r} }

// decode decodes the next block into out, or sets err.
func (d *b64Reader) decode() {
	if d.buf == nil {
		d.buf = getBuf()
	}
	buf := *d.buf
	in := buf[:b64In]
	for d.srcErr == nil && d.hi-d.lo < 4 {
		if d.lo > 0 {
			d.hi = copy(in, in[d.lo:d.hi])
			d.lo = 0
		}
		n, err := d.r.Read(in[d.hi:])
		d.hi += stripSpace(in[d.hi : d.hi+n])
		d.srcErr = err
	}
	q := (d.hi - d.lo) / 4 * 4
	if q == 0 {
		d.err = d.srcErr
		if d.err == io.EOF && d.hi > d.lo {
			d.err = io.ErrUnexpectedEOF
		}
		return
	}
	n, err := base64.StdEncoding.Decode(buf[b64In:], in[d.lo:d.lo+q])
	d.lo += q
	d.out = buf[b64In : b64In+n]
	if err != nil {
		d.err = err
	}
}

// release returns the buffer to the pool once everything was returned.
func (d *b64Reader) release() {
	if d.buf != nil {
		putBuf(d.buf)
		d.buf, d.out = nil, nil
	}
}

func (d *b64Reader) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		if d.err != nil {
			d.release()
			return 0, d.err
		}
		d.decode()
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

// WriteTo writes the decoded body to w a block at a time, without the
// copy a Read makes.
func (d *b64Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(d.out) > 0 {
			n, err := w.Write(d.out)
			total += int64(n)
			d.out = d.out[n:]
			if err != nil {
				return total, err
			}
			continue
		}
		if d.err != nil {
			d.release()
			if d.err == io.EOF {
				return total, nil
			}
			return total, d.err
		}
		d.decode()
	}
}

// stripSpace removes CR, LF, space and tab from b in place and returns
// the length of what remains. Eight bytes at a time: a word with no byte
// below '!' (white space, and any control byte) is moved whole; the
// others a byte at a time.
func stripSpace(b []byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	j, i := 0, 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		if (x-ones*'!')&^x&highs == 0 {
			binary.LittleEndian.PutUint64(b[j:], x)
			j += 8
			continue
		}
		for _, c := range b[i : i+8] {
			if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
				b[j] = c
				j++
			}
		}
	}
	for _, c := range b[i:] {
		if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
			b[j] = c
			j++
		}
	}
	return j
}
