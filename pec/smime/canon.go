package smime

import (
	"bytes"
	"io"
	"sync"
)

// crlfWriter writes to w what is written to it with every bare LF turned
// into CRLF: the canonical form of MIME content that S/MIME signs
// (RFC 5751 §3.1.1, RFC 1847 §2.1). CRLF and lone CR pass through. It keeps
// one byte of state across writes, so a CRLF split between two writes is
// not doubled, and copies at most a small buffer: memory use does not
// depend on the size of the content.
type crlfWriter struct {
	w       io.Writer
	cr      bool // the last byte written was CR
	changed bool // at least one bare LF was found
	crlf    bool // at least one CRLF was found
	buf     []byte
}

const crlfBufSize = 4096

var crlf = []byte("\r\n")

func (c *crlfWriter) Write(p []byte) (int, error) {
	last := 0 // p[last:] is not yet passed on
	for i := 0; i < len(p); {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			break
		}
		j += i
		prevCR := c.cr
		if j > 0 {
			prevCR = p[j-1] == '\r'
		}
		if prevCR {
			c.crlf = true
		} else {
			c.changed = true
			if err := c.emitLine(p[last:j]); err != nil {
				return last, err
			}
			last = j + 1
		}
		i = j + 1
	}
	if len(c.buf) == 0 {
		// No bare LF was queued: what is left goes through as it is,
		// not copied.
		if last < len(p) {
			if _, err := c.w.Write(p[last:]); err != nil {
				return last, err
			}
		}
	} else {
		if err := c.emit(p[last:]); err != nil {
			return last, err
		}
		if err := c.flush(); err != nil {
			return last, err
		}
	}
	if len(p) > 0 {
		c.cr = p[len(p)-1] == '\r'
	}
	return len(p), nil
}

// emitLine queues line and a CRLF after it, as emit(line) then
// emit(crlf) would, in one call per line.
func (c *crlfWriter) emitLine(line []byte) error {
	if len(c.buf)+len(line)+len(crlf) > crlfBufSize {
		if err := c.flush(); err != nil {
			return err
		}
		if len(line) > crlfBufSize/2 {
			if _, err := c.w.Write(line); err != nil {
				return err
			}
			line = nil
		}
	}
	if c.buf == nil {
		c.buf = (*crlfBufs.Get().(*[]byte))[:0]
	}
	c.buf = append(append(c.buf, line...), crlf...)
	return nil
}

// emit queues b, writing large pieces through without copying them.
func (c *crlfWriter) emit(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if len(c.buf)+len(b) > crlfBufSize {
		if err := c.flush(); err != nil {
			return err
		}
		if len(b) > crlfBufSize/2 {
			_, err := c.w.Write(b)
			return err
		}
	}
	if c.buf == nil {
		c.buf = (*crlfBufs.Get().(*[]byte))[:0]
	}
	c.buf = append(c.buf, b...)
	return nil
}

// crlfBufs are the buffers of crlfWriters, reused from one verification
// to the next.
var crlfBufs = sync.Pool{New: func() any { b := make([]byte, 0, crlfBufSize); return &b }}

// release gives the buffer back once the content is written.
func (c *crlfWriter) release() {
	if c.buf != nil {
		b := c.buf[:0]
		crlfBufs.Put(&b)
		c.buf = nil
	}
}

func (c *crlfWriter) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.w.Write(c.buf)
	c.buf = c.buf[:0]
	return err
}
