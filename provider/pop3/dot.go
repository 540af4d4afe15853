package pop3

import (
	"bufio"
	"io"
)

// writeMultiline copies a message from r to w as a POP3 multi-line
// response body (RFC 1939 §3): lines end in CRLF (a bare LF becomes CRLF),
// a line starting with '.' gets another, and the response ends with
// ".\r\n". With maxBody >= 0, only the header, the empty line after it and
// maxBody lines of the body are sent (TOP).
func writeMultiline(w *bufio.Writer, r io.Reader, maxBody int) error {
	br := bufio.NewReaderSize(r, 32<<10)
	inHeader := true
	bodyLines := 0
	atStart := true // at the start of a line
	for {
		if !inHeader && maxBody >= 0 && bodyLines >= maxBody && atStart {
			break
		}
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			if atStart && chunk[0] == '.' {
				w.WriteByte('.')
			}
			complete := chunk[len(chunk)-1] == '\n'
			if complete {
				line := chunk[:len(chunk)-1]
				if len(line) > 0 && line[len(line)-1] == '\r' {
					line = line[:len(line)-1]
				}
				if atStart && len(line) == 0 && inHeader {
					inHeader = false
				} else if !inHeader && atStart {
					bodyLines++ // a long line was counted at its start
				}
				w.Write(line)
				w.WriteString("\r\n")
			} else {
				if !inHeader && atStart {
					bodyLines++
				}
				// A '\r' at the end of a full buffer may start a CRLF:
				// leave it to the next chunk.
				if chunk[len(chunk)-1] == '\r' && err == bufio.ErrBufferFull {
					w.Write(chunk[:len(chunk)-1])
					br.UnreadByte()
					atStart = false
					continue
				}
				w.Write(chunk)
			}
			atStart = complete
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if !atStart {
		w.WriteString("\r\n")
	}
	_, err := w.WriteString(".\r\n")
	return err
}
