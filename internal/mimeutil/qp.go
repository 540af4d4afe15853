package mimeutil

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// qpLineMax is the size of the buffer of mime/quotedprintable's reader:
// it reads lines of at most this many bytes and fails on a longer one
// with bufio.ErrBufferFull. qpReader does the same.
const qpLineMax = 4096

// qpReader decodes quoted-printable (RFC 2045 §6.7) exactly as
// mime/quotedprintable.Reader does, the same bytes and the same errors
// (FuzzQuotedPrintable compares them), but a line at a time instead of a
// byte at a time, through a pooled buffer instead of a new bufio.Reader.
type qpReader struct {
	r      io.Reader
	buf    *[]byte // the raw bytes read from r: (*buf)[start:end] unread
	start  int
	end    int
	srcEOF error  // the error r returned, once the buffer is drained
	out    []byte // decoded bytes not yet returned
	dec    []byte // the decoding buffer out points into
	err    error  // returned once out is drained
	rerr   error  // the error that came with the current line
}

func newQPReader(r io.Reader) *qpReader {
	return &qpReader{r: r}
}

// readSlice returns the next raw line, as bufio.Reader.ReadSlice('\n')
// with a buffer of qpLineMax bytes would.
func (q *qpReader) readSlice() ([]byte, error) {
	if q.buf == nil {
		q.buf = getBuf()
	}
	buf := *q.buf
	for {
		avail := buf[q.start:q.end]
		if i := bytes.IndexByte(avail[:min(len(avail), qpLineMax)], '\n'); i >= 0 {
			q.start += i + 1
			return avail[:i+1], nil
		}
		if len(avail) >= qpLineMax {
			q.start += qpLineMax
			return avail[:qpLineMax], bufio.ErrBufferFull
		}
		if q.srcEOF != nil {
			q.start = q.end
			return avail, q.srcEOF
		}
		if q.start > 0 {
			q.end = copy(buf, avail)
			q.start = 0
		}
		n, err := q.r.Read(buf[q.end:])
		q.end += n
		if err != nil {
			q.srcEOF = err
		}
	}
}

func (q *qpReader) Read(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if len(q.out) > 0 {
			k := copy(p, q.out)
			q.out = q.out[k:]
			p = p[k:]
			n += k
			continue
		}
		if q.err != nil {
			q.release()
			return n, q.err
		}
		if q.rerr != nil {
			q.err = q.rerr
			continue
		}
		line, rerr := q.readSlice()
		q.rerr = rerr
		q.decodeLine(line)
	}
	return n, nil
}

// WriteTo writes the decoded body to w a line at a time, without the copy
// a Read makes; it returns what Read would (nil at the end).
func (q *qpReader) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for {
		if len(q.out) > 0 {
			k, err := w.Write(q.out)
			n += int64(k)
			q.out = q.out[k:]
			if err != nil {
				return n, err
			}
			continue
		}
		if q.err != nil {
			q.release()
			if q.err == io.EOF {
				return n, nil
			}
			return n, q.err
		}
		if q.rerr != nil {
			q.err = q.rerr
			continue
		}
		line, rerr := q.readSlice()
		q.rerr = rerr
		q.decodeLine(line)
	}
}

// decodeLine decodes one raw line into out, setting err to what
// mime/quotedprintable would return after those bytes.
func (q *qpReader) decodeLine(whole []byte) {
	hasLF := bytes.HasSuffix(whole, []byte("\n"))
	hasCR := bytes.HasSuffix(whole, []byte("\r\n"))
	n := len(whole)
	for n > 0 && (whole[n-1] == '\n' || whole[n-1] == '\r' || whole[n-1] == ' ' || whole[n-1] == '\t') {
		n--
	}
	line := whole[:n]
	var tail []byte
	if bytes.HasSuffix(line, []byte("=")) {
		rightStripped := whole[len(line):]
		for len(rightStripped) > 0 && (rightStripped[0] == ' ' || rightStripped[0] == '\t') {
			rightStripped = rightStripped[1:]
		}
		line = line[:len(line)-1]
		if !bytes.HasPrefix(rightStripped, []byte("\n")) && !bytes.HasPrefix(rightStripped, []byte("\r\n")) &&
			!(len(rightStripped) == 0 && len(line) > 0 && q.rerr == io.EOF) {
			q.rerr = fmt.Errorf("quotedprintable: invalid bytes after =: %q", rightStripped)
		}
	} else if hasLF {
		if hasCR {
			tail = []byte("\r\n")
		} else {
			tail = []byte("\n")
		}
	}
	// The run of plain bytes the line starts with. A line that is all
	// plain bytes, its ending the one the standard reader writes back,
	// decodes to itself: it is passed on as it is, not copied.
	j := plainRun(line, 0)
	for j < len(line) && qpPlain[line[j]] {
		j = plainRun(line, j+1)
	}
	if j == len(line) && len(line)+len(tail) == len(whole) {
		q.out = whole
		return
	}
	if j == len(line) && len(tail) == 0 {
		// All plain before a soft line break (or at the end): the
		// line without it, not copied either.
		q.out = line
		return
	}
	dec := append(q.dec[:0], line[:j]...)
	for i := j; i < len(line); {
		c := line[i]
		switch {
		case c == '=':
			b, err := readHexByte(line[i+1:], tail)
			if err != nil {
				if len(line)-i >= 2 && line[i+1] != '\r' && line[i+1] != '\n' {
					dec = append(dec, '=')
					i++
					continue
				}
				q.out, q.dec, q.err = dec, dec, err
				return
			}
			dec = append(dec, b)
			i += 3
			continue
		case c == '\t' || c == '\r' || c == '\n' || c >= 0x80:
		case c < ' ' || c > '~':
			q.out, q.dec, q.err = dec, dec, fmt.Errorf("quotedprintable: invalid unescaped byte 0x%02x in body", c)
			return
		}
		// A run of plain bytes is copied at once.
		j := plainRun(line, i+1)
		for j < len(line) && qpPlain[line[j]] {
			j++
			j = plainRun(line, j)
		}
		dec = append(dec, line[i:j]...)
		i = j
	}
	// The line ending the standard reader appends is decoded as the
	// line's own bytes are.
	dec = append(dec, tail...)
	q.out, q.dec = dec, dec
}

// readHexByte reads the two hexadecimal digits after an "=" at v. The
// digits may run into tail, the line ending the standard reader appends
// to the trimmed line before decoding it.
func readHexByte(v, tail []byte) (byte, error) {
	var d [2]byte
	k := copy(d[:], v)
	k += copy(d[k:], tail)
	if k < 2 {
		return 0, io.ErrUnexpectedEOF
	}
	hb, err := fromHex(d[0])
	if err != nil {
		return 0, err
	}
	lb, err := fromHex(d[1])
	if err != nil {
		return 0, err
	}
	return hb<<4 | lb, nil
}

func fromHex(b byte) (byte, error) {
	switch {
	case b >= '0' && b <= '9':
		return b - '0', nil
	case b >= 'A' && b <= 'F':
		return b - 'A' + 10, nil
	case b >= 'a' && b <= 'f':
		return b - 'a' + 10, nil
	}
	return 0, fmt.Errorf("quotedprintable: invalid hex byte 0x%02x", b)
}

// plainRun returns the end of the run of printable ASCII bytes other than
// "=" (0x20–0x7e) that starts at line[j], eight bytes at a time: the bytes
// of most lines. It may stop early, at the last eight bytes or before a
// tab or a byte over 0x7e, which qpPlain also passes.
func plainRun(line []byte, j int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for j+8 <= len(line) {
		w := binary.LittleEndian.Uint64(line[j:])
		eq := w ^ ('=' * ones)
		below := (w - 0x20*ones) &^ w & highs        // a byte under 0x20
		above := ((w + (127-0x7e)*ones) | w) & highs // a byte over 0x7e
		equal := (eq - ones) &^ eq & highs           // an "="
		if below|above|equal != 0 {
			break
		}
		j += 8
	}
	return j
}

// qpPlain marks the bytes a quoted-printable line passes through as they
// are.
var qpPlain = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c != '=' && (c == '\t' || c == '\r' || c == '\n' || c >= 0x80 || (c >= ' ' && c <= '~'))
	}
	return t
}()

func (q *qpReader) release() {
	if q.buf != nil {
		putBuf(q.buf)
		q.buf = nil
	}
}
