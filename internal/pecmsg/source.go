package pecmsg

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pecsdk/pec/internal/mimeutil"
	"github.com/pecsdk/pec/pec"
)

// MaxMessageSize bounds what Source reads from a plain io.Reader.
const MaxMessageSize = 1 << 30

type sizedReaderAt interface {
	io.ReaderAt
	Size() int64
}

// smallFile is the size up to which Source reads a file into memory with
// one read: a scan reads a message in many small pieces (headers,
// delimiter lines, the signature, daticert.xml), each a system call on a
// file read in place.
const smallFile = 4 << 20

// Source returns a random-access view of r and its size without copying when
// r already offers one (*bytes.Reader, *strings.Reader, *io.SectionReader,
// and a regular *os.File over smallFile bytes, all read in place from
// their current position); a smaller file is read into memory with one
// read, and any other reader into memory once, up to MaxMessageSize.
func Source(r io.Reader) (io.ReaderAt, int64, error) {
	switch v := r.(type) {
	case sizedReaderAt:
		if s, ok := r.(io.Seeker); ok {
			// Honour the current position of a reader that was partly consumed.
			pos, err := s.Seek(0, io.SeekCurrent)
			if err == nil && pos > 0 {
				return io.NewSectionReader(v, pos, v.Size()-pos), v.Size() - pos, nil
			}
		}
		return v, v.Size(), nil
	case *os.File:
		fi, err := v.Stat()
		if err == nil && fi.Mode().IsRegular() {
			pos, err := v.Seek(0, io.SeekCurrent)
			if err == nil {
				size := fi.Size() - pos
				if size > smallFile || size < 0 {
					return io.NewSectionReader(v, pos, size), size, nil
				}
				// Read at the position, which stays where it is, as for
				// a file read in place.
				b := make([]byte, size)
				n, err := io.ReadFull(io.NewSectionReader(v, pos, size), b)
				if err != nil && err != io.ErrUnexpectedEOF {
					return nil, 0, fmt.Errorf("pec: reading message: %w", err)
				}
				return mimeutil.InMemory(b[:n]), int64(n), nil
			}
		}
	}
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(r, MaxMessageSize+1))
	if err != nil {
		return nil, 0, fmt.Errorf("pec: reading message: %w", err)
	}
	if n > MaxMessageSize {
		return nil, 0, &pec.ParseError{Offset: MaxMessageSize, Err: fmt.Errorf("%w: message over %d bytes", pec.ErrTooLarge, MaxMessageSize)}
	}
	b := buf.Bytes()
	return mimeutil.InMemory(b), int64(len(b)), nil
}

var errSourceEmpty = errors.New("empty input")
