package spool

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
)

// The steps done and the retries of an item of a directory spool are
// records appended to the item's log, which follows the item's frame in
// its file (<id>.log for an item of the first format):
//
//	magic   4 bytes  "PECR"
//	kind    1 byte   kindStep or kindRetry
//	hlen    4 bytes  big-endian length of the header (at most maxHeader)
//	blen    8 bytes  big-endian length of the body (at most maxLogBody)
//	pcrc    4 bytes  CRC-32C of the 17 bytes before it
//	header  hlen bytes of JSON (diskStep or diskRetry)
//	hcrc    4 bytes  CRC-32C of the header
//	body    blen bytes: the step's output (empty for a retry)
//	bcrc    4 bytes  CRC-32C of the body
//
// A record is appended whole by one write and fsync'd before the call
// that wrote it returns, and the writes of an item are serialised: only
// the last record of a log can be torn by a crash. Open drops a torn last
// record (and cuts the log there); a damaged record followed by a whole
// one is damage.
const (
	logMagic     = "PECR"
	logPrefixLen = len(logMagic) + 1 + 4 + 8 + 4
	logOverhead  = logPrefixLen + 4 + 4
	maxLogBody   = 1 << 40
	logSuffix    = ".log"
)

// logRecord is a parsed record of a log: its header, and where its body
// lies in the log.
type logRecord struct {
	kind    byte
	header  []byte
	bodyOff int64
	bodyLen int64
	bodyCRC uint32
	end     int64 // the offset after the record
}

// appendRecord appends the record of kind with header and body to b.
func appendRecord(b []byte, kind byte, header, body []byte) []byte {
	start := len(b)
	b = append(b, logMagic...)
	b = append(b, kind)
	b = binary.BigEndian.AppendUint32(b, uint32(len(header)))
	b = binary.BigEndian.AppendUint64(b, uint64(len(body)))
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
	b = append(b, header...)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(header, castagnoli))
	b = append(b, body...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(body, castagnoli))
}

// parseRecord reads the record at off of a log of size bytes: its
// prefix, header and body checksum positions, checking the checksums of
// the prefix and header. It reads the body, and checks its checksum,
// when checkBody is set. Errors are *CorruptError without Path.
func parseRecord(r io.ReaderAt, off, size int64, checkBody bool) (*logRecord, error) {
	if size-off < int64(logOverhead) {
		return nil, &CorruptError{Offset: off, Reason: fmt.Sprintf("%d bytes left, shorter than any record", size-off)}
	}
	var pre [logPrefixLen]byte
	if _, err := r.ReadAt(pre[:], off); err != nil {
		return nil, &CorruptError{Offset: off, Reason: "reading a record's prefix", Err: err}
	}
	if string(pre[:len(logMagic)]) != logMagic {
		return nil, &CorruptError{Offset: off, Reason: "no record magic"}
	}
	if crc32.Checksum(pre[:logPrefixLen-4], castagnoli) != binary.BigEndian.Uint32(pre[logPrefixLen-4:]) {
		return nil, &CorruptError{Offset: off, Reason: "record prefix checksum mismatch"}
	}
	rec := &logRecord{kind: pre[len(logMagic)]}
	if rec.kind != kindStep && rec.kind != kindRetry {
		return nil, &CorruptError{Offset: off + int64(len(logMagic)), Reason: fmt.Sprintf("unknown record kind %q", rec.kind)}
	}
	hlen := int64(binary.BigEndian.Uint32(pre[len(logMagic)+1:]))
	blen := binary.BigEndian.Uint64(pre[len(logMagic)+5:])
	if hlen > maxHeader || blen > maxLogBody || int64(logOverhead)+hlen+int64(blen) > size-off {
		return nil, &CorruptError{Offset: off + int64(len(logMagic)) + 1, Reason: fmt.Sprintf("header of %d bytes and body of %d do not fit in the %d bytes left", hlen, blen, size-off)}
	}
	rec.bodyLen = int64(blen)
	buf := make([]byte, hlen+4)
	hoff := off + int64(logPrefixLen)
	if _, err := r.ReadAt(buf, hoff); err != nil {
		return nil, &CorruptError{Offset: hoff, Reason: "reading a record's header", Err: err}
	}
	if crc32.Checksum(buf[:hlen], castagnoli) != binary.BigEndian.Uint32(buf[hlen:]) {
		return nil, &CorruptError{Offset: hoff + hlen, Reason: "record header checksum mismatch"}
	}
	rec.header = buf[:hlen:hlen]
	rec.bodyOff = hoff + hlen + 4
	var tr [4]byte
	if _, err := r.ReadAt(tr[:], rec.bodyOff+rec.bodyLen); err != nil {
		return nil, &CorruptError{Offset: rec.bodyOff + rec.bodyLen, Reason: "reading a record's body checksum", Err: err}
	}
	rec.bodyCRC = binary.BigEndian.Uint32(tr[:])
	rec.end = rec.bodyOff + rec.bodyLen + 4
	if checkBody {
		crc := newCRC()
		if _, err := io.Copy(crc, io.NewSectionReader(r, rec.bodyOff, rec.bodyLen)); err != nil {
			return nil, &CorruptError{Offset: rec.bodyOff, Reason: "reading a record's body", Err: err}
		}
		if crc.Sum32() != rec.bodyCRC {
			return nil, &CorruptError{Offset: rec.bodyOff, Reason: "record body checksum mismatch"}
		}
	}
	return rec, nil
}

// scanLog parses the records of a log from start to size. It returns the
// whole records and where they end; a torn last record (what a crash
// during an append leaves) ends the scan without error, and the caller
// cuts the log at the offset returned. A damaged record that a whole one
// follows is a *CorruptError. The body of the last record is checked:
// the others were made durable before it was appended.
func scanLog(r io.ReaderAt, start, size int64) ([]*logRecord, int64, *CorruptError) {
	var recs []*logRecord
	off := start
	for off < size {
		rec, err := parseRecord(r, off, size, false)
		if err == nil && rec.end == size {
			// The last one: its body may be torn.
			_, err = parseRecord(r, off, size, true)
		}
		if err != nil {
			if later := findRecord(r, off+1, size); later >= 0 {
				ce := err.(*CorruptError)
				ce.Reason += fmt.Sprintf(" (a whole record follows at offset %d)", later)
				return recs, off, ce
			}
			return recs, off, nil
		}
		recs = append(recs, rec)
		off = rec.end
	}
	return recs, off, nil
}

// findRecord returns the offset of the first whole record at or after
// from, or -1.
func findRecord(r io.ReaderAt, from, size int64) int64 {
	const chunk = 64 << 10
	buf := make([]byte, chunk+len(logMagic)-1)
	for base := from; base < size; base += chunk {
		n, _ := r.ReadAt(buf[:min(int64(len(buf)), size-base)], base)
		b := buf[:n]
		for i := 0; ; {
			j := bytes.Index(b[i:], []byte(logMagic))
			if j < 0 {
				break
			}
			at := base + int64(i+j)
			if _, err := parseRecord(r, at, size, true); err == nil {
				return at
			}
			i += j + 1
		}
	}
	return -1
}
