package spool

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"sync"
)

// The files of a directory spool are frames:
//
//	magic    8 bytes  "PECSPOOL"
//	kind     1 byte   kindItem, kindStep or kindRetry
//	hlen     4 bytes  big-endian length of the header (at most maxHeader)
//	header   hlen bytes of JSON (diskItem, diskStep or diskRetry)
//	hcrc     4 bytes  CRC-32C of everything before it
//	body     the message body or the step output (empty for a retry)
//	blen     8 bytes  big-endian length of the body
//	bcrc     4 bytes  CRC-32C of the body
//	tcrc     4 bytes  CRC-32C of blen and bcrc
//
// The trailer's own checksum keeps a damaged length from passing; the
// body's checksum is checked by the reader that reads it to the end.
//
// An item's file is a frame of kind kindLogged followed by the item's
// log (see log.go): its trailer lies before the body, where it is
// written once the body is (the file has no name until then), so that
// the frame's end, where the log begins, is known from its start.
const (
	frameMagic  = "PECSPOOL"
	prefixLen   = len(frameMagic) + 1 + 4 // up to the header
	trailerLen  = 16
	maxHeader   = 2*MaxEnvelope + 64<<10 // JSON escaping may double a string
	kindItem    = 'M'
	kindStep    = 'S'
	kindRetry   = 'R'
	kindLogged  = 'L' // an item whose log follows its frame
	minFrameLen = prefixLen + 4 + trailerLen
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frame is a parsed frame: its header, and where its body lies.
type frame struct {
	kind    byte
	header  []byte
	bodyOff int64
	bodyLen int64
	bodyCRC uint32
	end     int64 // where the frame ends: the log of a kindLogged frame begins
}

// parseFrame reads the frame of a file of size bytes: its prefix, header
// and trailer, checking their checksums and that the lengths add up to
// size. It does not read the body. Errors are *CorruptError without Path.
func parseFrame(r io.ReaderAt, size int64) (*frame, error) {
	if size < int64(minFrameLen) {
		return nil, &CorruptError{Offset: 0, Reason: fmt.Sprintf("%d bytes, shorter than any spool file", size)}
	}
	pre := make([]byte, prefixLen)
	if _, err := r.ReadAt(pre, 0); err != nil {
		return nil, &CorruptError{Offset: 0, Reason: "reading the prefix", Err: err}
	}
	if string(pre[:len(frameMagic)]) != frameMagic {
		return nil, &CorruptError{Offset: 0, Reason: "not a spool file (no PECSPOOL magic)"}
	}
	f := &frame{kind: pre[len(frameMagic)]}
	if f.kind != kindItem && f.kind != kindStep && f.kind != kindRetry && f.kind != kindLogged {
		return nil, &CorruptError{Offset: int64(len(frameMagic)), Reason: fmt.Sprintf("unknown kind %q", f.kind)}
	}
	hlen := int64(binary.BigEndian.Uint32(pre[len(frameMagic)+1:]))
	if hlen > maxHeader || int64(prefixLen)+hlen+4+trailerLen > size {
		return nil, &CorruptError{Offset: int64(len(frameMagic)) + 1, Reason: fmt.Sprintf("header length %d does not fit in %d bytes", hlen, size)}
	}
	buf := make([]byte, hlen+4)
	if _, err := r.ReadAt(buf, int64(prefixLen)); err != nil {
		return nil, &CorruptError{Offset: int64(prefixLen), Reason: "reading the header", Err: err}
	}
	crc := crc32.Update(crc32.Checksum(pre, castagnoli), castagnoli, buf[:hlen])
	if crc != binary.BigEndian.Uint32(buf[hlen:]) {
		return nil, &CorruptError{Offset: int64(prefixLen) + hlen, Reason: "header checksum mismatch"}
	}
	f.header = buf[:hlen:hlen]
	f.bodyOff = int64(prefixLen) + hlen + 4
	trOff := size - trailerLen
	if f.kind == kindLogged {
		trOff = f.bodyOff
		f.bodyOff += trailerLen
	}
	var tr [trailerLen]byte
	if _, err := r.ReadAt(tr[:], trOff); err != nil {
		return nil, &CorruptError{Offset: trOff, Reason: "reading the trailer", Err: err}
	}
	if crc32.Checksum(tr[:12], castagnoli) != binary.BigEndian.Uint32(tr[12:]) {
		return nil, &CorruptError{Offset: trOff, Reason: "trailer checksum mismatch"}
	}
	f.bodyLen = int64(binary.BigEndian.Uint64(tr[:8]))
	f.bodyCRC = binary.BigEndian.Uint32(tr[8:12])
	if f.kind == kindLogged {
		if f.bodyLen > size-f.bodyOff {
			return nil, &CorruptError{Offset: trOff, Reason: fmt.Sprintf("body length %d, but %d bytes follow the trailer", f.bodyLen, size-f.bodyOff)}
		}
		f.end = f.bodyOff + f.bodyLen
		return f, nil
	}
	if f.bodyLen != size-trailerLen-f.bodyOff {
		return nil, &CorruptError{Offset: size - trailerLen, Reason: fmt.Sprintf("body length %d, but %d bytes lie between header and trailer", f.bodyLen, size-trailerLen-f.bodyOff)}
	}
	f.end = size
	return f, nil
}

// writeFrame writes a frame of kind with header, then body read to its
// end (nil: empty), to w, which must be an io.WriterAt too for
// kindLogged (the trailer is written before the body, once the body is).
// It returns the body's length.
func writeFrame(w io.Writer, kind byte, header []byte, body io.Reader) (int64, error) {
	bw := frameWriters.Get().(*bufio.Writer)
	bw.Reset(w)
	defer func() {
		bw.Reset(nil)
		frameWriters.Put(bw)
	}()
	pre := make([]byte, prefixLen, prefixLen+len(header)+4)
	copy(pre, frameMagic)
	pre[len(frameMagic)] = kind
	binary.BigEndian.PutUint32(pre[len(frameMagic)+1:], uint32(len(header)))
	pre = append(pre, header...)
	pre = binary.BigEndian.AppendUint32(pre, crc32.Checksum(pre, castagnoli))
	if kind == kindLogged {
		pre = append(pre, make([]byte, trailerLen)...) // the trailer's place
	}
	if _, err := bw.Write(pre); err != nil {
		return 0, err
	}
	crc := crc32.New(castagnoli)
	var n int64
	if body != nil {
		var err error
		// Read into bw's buffer (bufio.Writer.ReadFrom), with no
		// buffer of io.Copy's own.
		n, err = bw.ReadFrom(io.TeeReader(body, crc))
		if err != nil {
			return n, &readError{err}
		}
	}
	var tr [trailerLen]byte
	binary.BigEndian.PutUint64(tr[:8], uint64(n))
	binary.BigEndian.PutUint32(tr[8:12], crc.Sum32())
	binary.BigEndian.PutUint32(tr[12:], crc32.Checksum(tr[:12], castagnoli))
	if kind == kindLogged {
		if err := bw.Flush(); err != nil {
			return n, err
		}
		wa, ok := w.(io.WriterAt)
		if !ok {
			return n, fmt.Errorf("spool: a frame of kind %q needs an io.WriterAt", kind)
		}
		_, err := wa.WriteAt(tr[:], int64(len(pre)-trailerLen))
		return n, err
	}
	if _, err := bw.Write(tr[:]); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// frameWriters are the buffers of writeFrame, kept from one frame to the
// next: one per Put was most of the spool's allocations.
var frameWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

// readError marks an error of the reader given to writeFrame, apart from
// the writer's.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// bodyReader reads a frame's body and checks its checksum at the end.
type bodyReader struct {
	r    *io.SectionReader
	c    io.Closer
	crc  hash.Hash32
	want uint32
	path string
	off  int64
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.crc.Write(p[:n])
	if err == io.EOF && b.crc.Sum32() != b.want {
		return n, &CorruptError{Path: b.path, Offset: b.off, Reason: "body checksum mismatch"}
	}
	return n, err
}

func (b *bodyReader) Close() error { return b.c.Close() }

// Size is the length of the body, for a caller that reads it whole to
// allocate it once.
func (b *bodyReader) Size() int64 { return b.r.Size() }

func newCRC() hash.Hash32 { return crc32.New(castagnoli) }
