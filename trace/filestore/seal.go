package filestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/pecsdk/pec/trace"
)

// The encodings of seals (frames of seals.log) and of the checkpoint file.
const (
	sealRecMagic    = "PTSL\x01"
	checkpointMagic = "PECTCPT\x01"
)

func appendTime(b []byte, t time.Time) []byte {
	name, off := t.Zone()
	b = binary.AppendVarint(b, t.UnixNano())
	b = binary.AppendVarint(b, int64(off))
	b = binary.AppendUvarint(b, uint64(len(name)))
	return append(b, name...)
}

func encodeSeal(sl *trace.Seal) []byte {
	b := []byte(sealRecMagic)
	b = binary.AppendUvarint(b, sl.Seq)
	b = append(b, sl.Head[:]...)
	b = appendTime(b, sl.Time)
	b = binary.AppendUvarint(b, uint64(len(sl.Signature)))
	return append(b, sl.Signature...)
}

func encodeCheckpoint(cp *trace.Checkpoint) []byte {
	var b []byte
	b = binary.AppendUvarint(b, cp.Seq)
	b = append(b, cp.Head[:]...)
	b = appendTime(b, cp.Before)
	b = appendTime(b, cp.Time)
	b = binary.AppendUvarint(b, uint64(len(cp.Signature)))
	return append(b, cp.Signature...)
}

// reader decodes the fields above, keeping the first error.
type reader struct {
	b   []byte
	off int
	bad string
}

func (r *reader) fail(why string) {
	if r.bad == "" {
		r.bad = fmt.Sprintf("%s at byte %d", why, r.off)
	}
}

func (r *reader) uvarint() uint64 {
	if r.bad != "" {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.off += n
	return v
}

func (r *reader) varint() int64 {
	if r.bad != "" {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.off += n
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.bad != "" {
		return nil
	}
	if n > uint64(len(r.b)-r.off) {
		r.fail("field longer than the input")
		return nil
	}
	p := append([]byte(nil), r.b[r.off:r.off+int(n)]...)
	r.off += int(n)
	return p
}

func (r *reader) hash(h *trace.Hash) {
	if r.bad != "" {
		return
	}
	if len(r.b)-r.off < len(h) {
		r.fail("truncated hash")
		return
	}
	copy(h[:], r.b[r.off:])
	r.off += len(h)
}

func (r *reader) time() time.Time {
	nanos := r.varint()
	off := r.varint()
	name := string(r.bytes())
	if r.bad != "" {
		return time.Time{}
	}
	if off < -18*3600 || off > 18*3600 {
		r.fail("zone offset out of range")
		return time.Time{}
	}
	t := time.Unix(0, nanos)
	if off == 0 && (name == "UTC" || name == "") {
		return t.UTC()
	}
	return t.In(time.FixedZone(name, int(off)))
}

func (r *reader) end() {
	if r.bad == "" && r.off != len(r.b) {
		r.fail(fmt.Sprintf("%d trailing bytes", len(r.b)-r.off))
	}
}

func decodeSeal(p []byte) (*trace.Seal, string) {
	if !bytes.HasPrefix(p, []byte(sealRecMagic)) {
		return nil, "not a seal (bad magic)"
	}
	r := &reader{b: p, off: len(sealRecMagic)}
	sl := &trace.Seal{Seq: r.uvarint()}
	r.hash(&sl.Head)
	sl.Time = r.time()
	sl.Signature = r.bytes()
	r.end()
	if r.bad != "" {
		return nil, r.bad
	}
	return sl, ""
}

func decodeCheckpoint(p []byte) (*trace.Checkpoint, string) {
	r := &reader{b: p}
	cp := &trace.Checkpoint{Seq: r.uvarint()}
	r.hash(&cp.Head)
	cp.Before = r.time()
	cp.Time = r.time()
	cp.Signature = r.bytes()
	r.end()
	if r.bad != "" {
		return nil, r.bad
	}
	return cp, ""
}

// loadCheckpoint reads the checkpoint file, if any.
func (s *Store) loadCheckpoint() error {
	path := filepath.Join(s.dir, checkpointName)
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := parseFileHead(b, checkpointMagic); err != nil {
		return &CorruptError{File: path, Reason: "checkpoint header: " + err.Error()}
	}
	fr := newFrameReader(bytes.NewReader(b), fileHeader, int64(len(b)), len(b))
	_, p, err := fr.next()
	if err == nil && fr.off != int64(len(b)) {
		err = &badFrame{fr.off, false, "trailing bytes"}
	}
	if bf, ok := err.(*badFrame); ok {
		return &CorruptError{File: path, Offset: bf.off, Reason: bf.reason}
	}
	if err != nil {
		return &CorruptError{File: path, Offset: fileHeader, Reason: "no checkpoint frame", Err: err}
	}
	cp, bad := decodeCheckpoint(p)
	if cp == nil {
		return &CorruptError{File: path, Offset: fileHeader, Reason: "checkpoint: " + bad}
	}
	s.cp = cp
	return nil
}

// loadSeals reads seals.log, cutting a torn tail away, and keeps the seals
// above the checkpoint in Seq order.
func (s *Store) loadSeals() error {
	path := filepath.Join(s.dir, sealsName)
	flag := os.O_RDWR
	if s.opts.ReadOnly {
		flag = os.O_RDONLY
	}
	f, err := os.OpenFile(path, flag, 0)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	size := fi.Size()
	var h [fileHeader]byte
	n, _ := f.ReadAt(h[:], 0)
	if _, herr := parseFileHead(h[:n], sealMagic); herr != nil {
		f.Close()
		return &CorruptError{File: path, Reason: "seals header: " + herr.Error()}
	}
	fr := newFrameReader(f, fileHeader, size, maxSegmentSize)
	for {
		off := fr.off
		_, p, err := fr.next()
		if err == nil {
			sl, bad := decodeSeal(p)
			if sl == nil {
				f.Close()
				return &CorruptError{File: path, Offset: off, Reason: "seal: " + bad}
			}
			if s.cp == nil || sl.Seq > s.cp.Seq {
				s.seals = append(s.seals, sl)
			}
			continue
		}
		bf, ok := err.(*badFrame)
		if !ok {
			if errors.Is(err, io.EOF) {
				break
			}
			f.Close()
			return err
		}
		if !bf.torn {
			f.Close()
			return &CorruptError{File: path, Offset: bf.off, Reason: bf.reason}
		}
		if err := s.recover(Recovery{File: path, Offset: bf.off, Dropped: size - bf.off, Reason: "torn seal: " + bf.reason}, false); err != nil {
			f.Close()
			return err
		}
		if !s.opts.ReadOnly {
			if err := f.Truncate(bf.off); err != nil {
				f.Close()
				return err
			}
			if err := f.Sync(); err != nil {
				f.Close()
				return err
			}
		}
		size = bf.off
		break
	}
	sort.SliceStable(s.seals, func(i, j int) bool { return s.seals[i].Seq < s.seals[j].Seq })
	s.sealf, s.sealSize = f, size
	return nil
}

// hashOf returns the Hash of record seq (or of the checkpoint). The caller
// holds mu.
func (s *Store) hashOf(seq uint64) (trace.Hash, bool) {
	if s.cp != nil && seq == s.cp.Seq {
		return s.cp.Head, true
	}
	if seq == s.head {
		return s.headHash, true
	}
	var buf []byte
	r, err := s.readRecord(seq, &buf)
	if err != nil {
		return trace.Hash{}, false
	}
	return r.Hash, true
}

// AddSeal appends a seal to seals.log, fsync'd. Its Head must be the hash
// of record s.Seq (trace.ErrSealMismatch); its signature is Verify's to
// check.
func (s *Store) AddSeal(ctx context.Context, sl *trace.Seal) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	if sl == nil {
		return fmt.Errorf("filestore: nil seal: %w", trace.ErrSealMismatch)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.failure(); err != nil {
		return err
	}
	s.mu.RLock()
	closed := s.closed
	h, ok := s.hashOf(sl.Seq)
	s.mu.RUnlock()
	switch {
	case closed:
		return trace.ErrClosed
	case sl.Seq == 0 || !ok:
		return fmt.Errorf("filestore: seal of record %d: no such record: %w", sl.Seq, trace.ErrSealMismatch)
	case h != sl.Head:
		return fmt.Errorf("filestore: seal of record %d: head is not the record's hash: %w", sl.Seq, trace.ErrSealMismatch)
	}
	c := copySeal(sl)
	frame := appendFrame(nil, flagCommit, encodeSeal(c))
	if s.sealf == nil {
		path := filepath.Join(s.dir, sealsName)
		if err := writeAtomic(path, fileHead(sealMagic, 0)); err != nil {
			return err
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		s.sealf, s.sealSize = f, fileHeader
	}
	if _, err := s.sealf.WriteAt(frame, s.sealSize); err != nil {
		return s.fail(fmt.Errorf("filestore: seal write failed: %w", err))
	}
	if err := s.sealf.Sync(); err != nil {
		return s.fail(fmt.Errorf("filestore: seal fsync failed: %w", err))
	}
	s.sealSize += int64(len(frame))
	s.mu.Lock()
	i := sort.Search(len(s.seals), func(i int) bool { return s.seals[i].Seq > c.Seq })
	s.seals = append(s.seals, nil)
	copy(s.seals[i+1:], s.seals[i:])
	s.seals[i] = c
	s.mu.Unlock()
	return nil
}

// Seals returns the seals in Seq order.
func (s *Store) Seals(ctx context.Context) ([]*trace.Seal, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, trace.ErrClosed
	}
	out := make([]*trace.Seal, len(s.seals))
	for i, sl := range s.seals {
		out[i] = copySeal(sl)
	}
	return out, nil
}

func copySeal(sl *trace.Seal) *trace.Seal {
	c := *sl
	c.Signature = append([]byte(nil), sl.Signature...)
	return &c
}

func copyCheckpoint(cp *trace.Checkpoint) *trace.Checkpoint {
	c := *cp
	c.Signature = append([]byte(nil), cp.Signature...)
	return &c
}
