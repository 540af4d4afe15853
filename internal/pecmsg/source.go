package pecmsg

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pecsdk/pec/pec"
)

// MaxMessageSize bounds what Source reads from a plain io.Reader.
const MaxMessageSize = 1 << 30

type sizedReaderAt interface {
	io.ReaderAt
	Size() int64
}

// Source returns a random-access view of r and its size without copying when
// r already offers one (*bytes.Reader, *strings.Reader, *io.SectionReader,
// *os.File); otherwise it reads r into memory once, up to MaxMessageSize.
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
				return io.NewSectionReader(v, pos, fi.Size()-pos), fi.Size() - pos, nil
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
	return bytes.NewReader(b), int64(len(b)), nil
}

var errSourceEmpty = errors.New("empty input")
