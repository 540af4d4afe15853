package smime

import (
	"fmt"
)

// Bounds on a signature's structure. Real provider signatures nest about
// 10 deep and hold about 260 elements (the corpus: 2 certificates, one
// signer); the bounds leave room for long chains, many signers and a large
// encapsulated content cut into chunks, and make the cost of a hostile
// input a small multiple of its size.
const (
	maxBERDepth     = 64        // nesting of constructed elements
	maxBERNodes     = 1 << 18   // elements in a BER signature converted to DER
	maxBERTagOctets = 4         // octets after the first of a high tag number
	maxDERLength    = 1<<32 - 1 // the longest contents 4 length octets state
)

// berError is an encoding error in a signature: what is wrong and at which
// byte offset.
type berError struct {
	off    int
	reason string
}

func (e *berError) Error() string {
	return fmt.Sprintf("malformed BER at byte %d: %s", e.off, e.reason)
}

func berErrorf(off int, format string, args ...any) error {
	return &berError{off: off, reason: fmt.Sprintf(format, args...)}
}

// toDER returns the first element of b in DER. A signature that is
// already DER (every real one seen so far) is returned as it is, not
// copied: nothing read from it outlives the verification (certificates
// are parsed from copies, see parseCertificates; an encapsulated content
// is copied by VerifyAttached). Only BER is converted, into a new buffer.
// Bytes after the first element are ignored, as they always were
// (Verdict.BER flags them).
func toDER(b []byte) ([]byte, error) {
	if rest, ok := derElement(b, 0); ok {
		return b[: len(b)-len(rest) : len(b)-len(rest)], nil
	}
	return berToDER(b)
}

// berToDER converts the first element of b from BER to DER (X.690 §8.1,
// §10.1): indefinite lengths become definite, lengths take their shortest
// form. Constructed strings stay constructed, as the CMS library's own
// conversion left them: the eContent reader joins their chunks.
//
// It takes two passes over the input, each reading every header once:
// the first checks the encoding and records the DER length of each
// constructed element (the length of an indefinite one is known only at
// its end-of-contents), the second writes the output, whose size the
// first pass gave. Time and memory are linear in len(b); recursion is
// bounded by maxBERDepth.
func berToDER(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, berErrorf(0, "empty")
	}
	c := &berConverter{b: b}
	_, size, err := c.measure(0, len(b), 0)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, size)
	next := 0
	out, _ = c.write(out, 0, len(b), &next)
	return out, nil
}

// berConverter carries the state of one conversion.
type berConverter struct {
	b     []byte
	lens  []uint32 // DER content length of each constructed element, in document order
	nodes int
}

// berHeader is the identifier and length octets of one element.
type berHeader struct {
	tagEnd      int // offset after the identifier octets
	start       int // offset of the contents
	length      int // length of the contents; -1 when indefinite
	constructed bool
}

// readBERHeader reads the header of the element at b[off:], whose contents
// must end within b.
func readBERHeader(b []byte, off int) (berHeader, error) {
	if off >= len(b) {
		return berHeader{}, berErrorf(off, "truncated: element expected")
	}
	tag := b[off]
	h := berHeader{constructed: tag&0x20 != 0}
	i := off + 1
	if tag&0x1f == 0x1f { // high tag number, base 128 (X.690 §8.1.2.4)
		if i < len(b) && b[i] == 0x80 {
			return h, berErrorf(i, "tag number with a leading zero")
		}
		for n := 0; ; n++ {
			if i >= len(b) {
				return h, berErrorf(i, "truncated tag")
			}
			if n == maxBERTagOctets {
				return h, berErrorf(off, "tag number longer than %d octets", maxBERTagOctets)
			}
			c := b[i]
			i++
			if c&0x80 == 0 {
				break
			}
		}
	}
	h.tagEnd = i
	if i >= len(b) {
		return h, berErrorf(i, "truncated length")
	}
	l := int(b[i])
	i++
	switch {
	case l == 0x80: // indefinite (X.690 §8.1.3.6)
		if !h.constructed {
			return h, berErrorf(off, "indefinite length on a primitive element")
		}
		h.start, h.length = i, -1
		return h, nil
	case l == 0xff:
		return h, berErrorf(i-1, "reserved length octet 0xFF")
	case l > 0x80: // long form, leading zeros allowed in BER
		n := l & 0x7f
		if n > 4 {
			return h, berErrorf(i-1, "length of %d octets", n)
		}
		if n > len(b)-i {
			return h, berErrorf(i, "truncated length")
		}
		var v uint64
		for _, c := range b[i : i+n] {
			v = v<<8 | uint64(c)
		}
		i += n
		if v > uint64(len(b)-i) {
			return h, berErrorf(i, "length %d past the end of the enclosing element", v)
		}
		l = int(v)
	}
	if l > len(b)-i {
		return h, berErrorf(i, "length %d past the end of the enclosing element", l)
	}
	h.start, h.length = i, l
	return h, nil
}

// measure checks the element at c.b[off:limit] and returns the offset
// after it and the length of its DER encoding, recording the DER content
// length of every constructed element in c.lens.
func (c *berConverter) measure(off, limit, depth int) (end, derLen int, err error) {
	if depth > maxBERDepth {
		return 0, 0, berErrorf(off, "nesting deeper than %d", maxBERDepth)
	}
	if c.nodes++; c.nodes > maxBERNodes {
		return 0, 0, berErrorf(off, "more than %d elements", maxBERNodes)
	}
	h, err := readBERHeader(c.b[:limit], off)
	if err != nil {
		return 0, 0, err
	}
	header := h.tagEnd - off
	if !h.constructed {
		end = h.start + h.length
		return end, header + derLengthSize(h.length) + h.length, nil
	}
	idx := len(c.lens)
	if idx == cap(c.lens) {
		// Doubling: what append does past 256 elements (1.25 times)
		// would allocate four times the final size on the way.
		c.lens = append(make([]uint32, 0, max(64, 2*idx)), c.lens...)
	}
	c.lens = append(c.lens, 0)
	content := 0
	p := h.start
	if h.length >= 0 {
		end = h.start + h.length
		for p < end {
			next, n, err := c.measure(p, end, depth+1)
			if err != nil {
				return 0, 0, err
			}
			p, content = next, content+n
		}
	} else {
		for {
			if p+1 < limit && c.b[p] == 0 && c.b[p+1] == 0 {
				end = p + 2
				break
			}
			if p >= limit {
				return 0, 0, berErrorf(p, "truncated: no end-of-contents for the element at byte %d", off)
			}
			next, n, err := c.measure(p, limit, depth+1)
			if err != nil {
				return 0, 0, err
			}
			p, content = next, content+n
		}
	}
	if uint64(content) > maxDERLength {
		return 0, 0, berErrorf(off, "element longer than %d bytes", uint64(maxDERLength))
	}
	c.lens[idx] = uint32(content)
	return end, header + derLengthSize(content) + content, nil
}

// write appends the DER of the element at c.b[off:limit], which measure
// has checked, and returns the offset after it. next indexes c.lens.
func (c *berConverter) write(out []byte, off, limit int, next *int) ([]byte, int) {
	h, _ := readBERHeader(c.b[:limit], off)
	out = append(out, c.b[off:h.tagEnd]...)
	if !h.constructed {
		end := h.start + h.length
		out = appendDERLength(out, h.length)
		return append(out, c.b[h.start:end]...), end
	}
	out = appendDERLength(out, int(c.lens[*next]))
	*next++
	p := h.start
	if h.length >= 0 {
		end := h.start + h.length
		for p < end {
			out, p = c.write(out, p, end, next)
		}
		return out, end
	}
	for c.b[p] != 0 || c.b[p+1] != 0 {
		out, p = c.write(out, p, limit, next)
	}
	return out, p + 2
}

// derLengthSize is the size of the DER length octets for n (X.690 §10.1).
func derLengthSize(n int) int {
	if n < 0x80 {
		return 1
	}
	size := 1
	for ; n > 0; n >>= 8 {
		size++
	}
	return size
}

// appendDERLength appends the DER length octets for n.
func appendDERLength(out []byte, n int) []byte {
	if n < 0x80 {
		return append(out, byte(n))
	}
	k := derLengthSize(n) - 1
	out = append(out, 0x80|byte(k))
	for i := k - 1; i >= 0; i-- {
		out = append(out, byte(n>>(8*i)))
	}
	return out
}

// countElements returns the number of elements in the DER contents b,
// stopping past limit.
func countElements(b []byte, limit int) (int, error) {
	n := 0
	for off := 0; off < len(b) && n <= limit; n++ {
		h, err := readBERHeader(b, off)
		if err != nil {
			return n, err
		}
		if h.length < 0 {
			return n, berErrorf(off, "indefinite length in DER")
		}
		off = h.start + h.length
	}
	return n, nil
}
