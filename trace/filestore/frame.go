package filestore

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const (
	frameHeader = 13 // length (4), flags (1), payload CRC-32C (4), header CRC-32C (4)
	fileHeader  = 20

	// flagCommit marks the last frame of one Append call (or a seal).
	flagCommit = 1 << 0

	segMagic  = "PECTSEG\x01"
	sealMagic = "PECTSEA\x01"
)

// appendFrame appends one frame holding payload.
func appendFrame(b []byte, flags byte, payload []byte) []byte {
	var h [frameHeader]byte
	putFrameHeader(h[:], flags, payload)
	b = append(b, h[:]...)
	return append(b, payload...)
}

// putFrameHeader fills h, frameHeader bytes, as the header of a frame
// holding payload.
func putFrameHeader(h []byte, flags byte, payload []byte) {
	binary.LittleEndian.PutUint32(h[0:4], uint32(len(payload)))
	h[4] = flags
	binary.LittleEndian.PutUint32(h[5:9], crc32.Checksum(payload, castagnoli))
	binary.LittleEndian.PutUint32(h[9:13], crc32.Checksum(h[:9], castagnoli))
}

// headerOK reports whether a frame header's own checksum holds.
func headerOK(h []byte) bool {
	return crc32.Checksum(h[:9], castagnoli) == binary.LittleEndian.Uint32(h[9:13])
}

// payloadOK reports whether a payload matches its frame header.
func payloadOK(h, payload []byte) bool {
	return crc32.Checksum(payload, castagnoli) == binary.LittleEndian.Uint32(h[5:9])
}

// fileHead returns the header of a segment (magic segMagic, its first Seq)
// or of the seals log (sealMagic, 0).
func fileHead(magic string, first uint64) []byte {
	b := make([]byte, 0, fileHeader)
	b = append(b, magic...)
	b = binary.LittleEndian.AppendUint64(b, first)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// parseFileHead checks a file header and returns the Seq it names.
func parseFileHead(h []byte, magic string) (uint64, error) {
	if len(h) < fileHeader {
		return 0, errShort
	}
	if string(h[:8]) != magic {
		return 0, errors.New("bad magic")
	}
	if crc32.Checksum(h[:16], castagnoli) != binary.LittleEndian.Uint32(h[16:20]) {
		return 0, errors.New("header checksum mismatch")
	}
	return binary.LittleEndian.Uint64(h[8:16]), nil
}

var errShort = errors.New("cut short")

// frameReader reads the frames of one file after its header.
type frameReader struct {
	r    *bufio.Reader
	off  int64 // offset of the next frame
	size int64 // the file's size
	max  int   // largest payload accepted
	buf  []byte

	// padded says the file may end in zeros after its last frame (a
	// segment filled with zeros when made): a header of zeros followed by
	// nothing but zeros is its clean end, and next leaves off there.
	padded bool
}

// badFrame is a frame that cannot be read. Torn says whether it is a
// torn tail (a crash mid-write) rather than damage. The header has its own
// checksum, so that a damaged length is never taken for a frame cut short:
// a frame is torn when its header is cut short by the end of the file, or
// is all zeros (never written), or when its sound header claims more bytes
// than the file has, or when its payload checksum fails and nothing but
// zeros follows it.
type badFrame struct {
	off    int64
	torn   bool
	reason string
}

func (e *badFrame) Error() string { return e.reason }

// next returns the next frame's flags and payload (valid until the next
// call), or io.EOF at the clean end of the file, or a *badFrame.
func (fr *frameReader) next() (flags byte, payload []byte, err error) {
	if fr.off == fr.size {
		return 0, nil, io.EOF
	}
	start := fr.off
	var h [frameHeader]byte
	if fr.size-start < frameHeader {
		if fr.padded {
			if _, err := io.ReadFull(fr.r, h[:fr.size-start]); err != nil {
				return 0, nil, err
			}
			if allZero(h[:fr.size-start]) {
				return 0, nil, io.EOF // the padding's last bytes
			}
		}
		return 0, nil, &badFrame{start, true, fmt.Sprintf("frame header cut short (%d of %d bytes)", fr.size-start, frameHeader)}
	}
	if _, err := io.ReadFull(fr.r, h[:]); err != nil {
		return 0, nil, err
	}
	if !headerOK(h[:]) {
		if allZero(h[:]) {
			if fr.padded && fr.restZero() {
				return 0, nil, io.EOF // the zero padding after the last frame
			}
			return 0, nil, &badFrame{start, true, "frame header never written (zeros)"}
		}
		return 0, nil, &badFrame{start, false, "frame header checksum mismatch"}
	}
	n := int64(binary.LittleEndian.Uint32(h[0:4]))
	end := start + frameHeader + n
	if end > fr.size {
		return 0, nil, &badFrame{start, true, fmt.Sprintf("frame of %d bytes cut short by the end of the file", n)}
	}
	if n > int64(fr.max) {
		return 0, nil, &badFrame{start, false, fmt.Sprintf("frame of %d bytes over the limit of %d", n, fr.max)}
	}
	if cap(fr.buf) < int(n) {
		fr.buf = make([]byte, n)
	}
	payload = fr.buf[:n]
	if _, err := io.ReadFull(fr.r, payload); err != nil {
		return 0, nil, err
	}
	if !payloadOK(h[:], payload) {
		if end == fr.size || fr.restZero() {
			return 0, nil, &badFrame{start, true, "payload checksum mismatch in the last frame"}
		}
		return 0, nil, &badFrame{start, false, "payload checksum mismatch"}
	}
	fr.off = end
	return h[4], payload, nil
}

// restZero reports whether the rest of the file is zero bytes.
func (fr *frameReader) restZero() bool {
	buf := make([]byte, 256<<10)
	for {
		n, err := fr.r.Read(buf)
		if !allZero(buf[:n]) {
			return false
		}
		if err != nil {
			return true
		}
	}
}

var zeros [64 << 10]byte

func allZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), len(zeros))
		if !bytes.Equal(b[:n], zeros[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

// newFrameReader reads the frames of f from off to size.
func newFrameReader(f io.ReaderAt, off, size int64, max int) *frameReader {
	return &frameReader{
		r:    bufio.NewReaderSize(io.NewSectionReader(f, off, size-off), 256<<10),
		off:  off,
		size: size,
		max:  max,
	}
}
