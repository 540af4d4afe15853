package filestore

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/pecsdk/pec/trace"
)

// DefaultSegmentSize is the size at which a segment is rolled.
const DefaultSegmentSize = 64 << 20

// maxSegmentSize keeps frame offsets and the rolling arithmetic well inside
// int64 and a single segment readable in one pass.
const maxSegmentSize = 1 << 30

// Options configure a Store. A nil *Options, and every zero field, means
// the default.
type Options struct {
	// SegmentSize is the size past which the next Append starts a new
	// segment file (default DefaultSegmentSize, at most 1 GiB). One Append
	// call is never split across segments.
	SegmentSize int64

	// MaxRecordSize bounds one encoded record (default
	// trace.DefaultMaxRecordSize); an Append with a record over it fails
	// with trace.ErrTooLarge and writes nothing.
	MaxRecordSize int

	// ReadOnly opens the store for reading only, without taking the write
	// lock, so that it can be inspected while another process writes to
	// it. Nothing is repaired: a torn tail is only skipped and reported.
	ReadOnly bool

	// Logger receives recoveries and warnings (nil: silent).
	Logger *slog.Logger
}

// Store is a trace.Store in one directory. It is safe for concurrent use.
type Store struct {
	dir  string
	opts Options
	log  *slog.Logger
	lock *os.File

	// mu guards the read view below. The committer holds it only to
	// publish what it has already written and fsync'd.
	mu       sync.RWMutex
	segs     []*segment // by first Seq
	first    uint64     // Seq of locs[0]
	locs     []loc      // where each record is, from first
	times    []int64    // each record's Time in Unix nanoseconds, from first
	monotone bool       // times never decrease
	head     uint64
	headHash trace.Hash
	cp       *trace.Checkpoint
	seals    []*trace.Seal
	idx      indexes
	retired  []*os.File // handles of segments cut, closed by Close (a Scan may be reading them)
	closed   bool

	// wmu serialises writing: the committer holds it while it encodes and
	// writes a batch, AddSeal and Cut for their whole work (Cut also waits
	// for the batches in flight to be fsync'd).
	wmu      sync.Mutex
	whead    uint64     // Seq of the last record written (maybe not yet fsync'd)
	whash    trace.Hash // its Hash
	inflight sync.WaitGroup
	sealf    *os.File
	sealSize int64
	wbuf     []byte

	fmu    sync.Mutex
	failed error // a write or fsync failed: the store refuses further writes

	recovered []Recovery
	commits   atomic.Uint64 // batches written (fsyncs of appends), for the benchmarks

	// The queue of Appends waiting for the committer.
	qmu     sync.RWMutex
	qclosed bool
	reqs    chan *request
	flights chan *flight // written, waiting for fsync
	done    chan struct{}
}

// segment is one segment file.
type segment struct {
	path  string
	first uint64
	f     *os.File // read-only, or read-write for the last segment of a writable store
	rw    bool     // f is open for writing
	size  int64    // bytes written (guarded by mu)
	wsize int64    // bytes written and encoded to be written (the committer's)
}

// loc is where a record's frame is in its segment.
type loc struct {
	off int64  // offset of the frame
	n   uint32 // payload length
}

const (
	markerName     = "PECTRACE"
	markerText     = "pec trace filestore 1\n"
	lockName       = "LOCK"
	sealsName      = "seals.log"
	checkpointName = "checkpoint"
	segPattern     = "seg-%016x.log"
)

func segName(first uint64) string { return fmt.Sprintf(segPattern, first) }

// Open opens the store in dir, creating it when dir does not exist or is
// empty (unless opts.ReadOnly). A directory that holds anything but a trace
// store fails with a *NotStoreError and is left untouched; a store another
// process has open for writing fails with ErrLocked. Open recovers from a
// crash (see Recovered) and rebuilds the indexes.
func Open(ctx context.Context, dir string, opts *Options) (*Store, error) {
	s := &Store{dir: dir, monotone: true}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.SegmentSize <= 0 {
		s.opts.SegmentSize = DefaultSegmentSize
	}
	if s.opts.SegmentSize > maxSegmentSize {
		s.opts.SegmentSize = maxSegmentSize
	}
	if s.opts.MaxRecordSize <= 0 {
		s.opts.MaxRecordSize = trace.DefaultMaxRecordSize
	}
	s.log = s.opts.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.idx.init()
	if err := s.claim(); err != nil {
		return nil, err
	}
	if err := s.load(ctx); err != nil {
		s.closeFiles()
		return nil, err
	}
	if !s.opts.ReadOnly {
		s.whead, s.whash = s.head, s.headHash
		s.reqs = make(chan *request, 1024)
		s.flights = make(chan *flight, 1024)
		s.done = make(chan struct{})
		go s.commitLoop()
		go s.syncLoop()
	}
	return s, nil
}

// claim checks that dir is a store (or makes it one) and takes the lock.
func (s *Store) claim() error {
	marker := filepath.Join(s.dir, markerName)
	b, err := os.ReadFile(marker)
	switch {
	case err == nil:
		if string(b) != markerText {
			return &NotStoreError{s.dir, fmt.Sprintf("%s does not name a supported format (%.40q)", markerName, b)}
		}
	case os.IsNotExist(err):
		ents, derr := os.ReadDir(s.dir)
		switch {
		case os.IsNotExist(derr) && !s.opts.ReadOnly:
			if err := os.MkdirAll(s.dir, 0o755); err != nil {
				return err
			}
		case derr != nil:
			if os.IsNotExist(derr) {
				return fmt.Errorf("filestore: %w", derr)
			}
			return &NotStoreError{s.dir, derr.Error()}
		case len(ents) > 0:
			return &NotStoreError{s.dir, fmt.Sprintf("no %s marker, and it holds %d other entries (%s, ...)", markerName, len(ents), ents[0].Name())}
		case s.opts.ReadOnly:
			return &NotStoreError{s.dir, "empty directory"}
		}
		if err := writeAtomic(marker, []byte(markerText)); err != nil {
			return err
		}
	default:
		return &NotStoreError{s.dir, err.Error()}
	}
	if s.opts.ReadOnly {
		return nil
	}
	f, err := lockFile(filepath.Join(s.dir, lockName))
	if err != nil {
		if err == ErrLocked {
			return fmt.Errorf("filestore: %s: %w", s.dir, err)
		}
		return err
	}
	s.lock = f
	return nil
}

// load reads the checkpoint, the seals and the segments, repairing a torn
// tail, and builds the indexes.
func (s *Store) load(ctx context.Context) error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var segs []*segment
	for _, e := range ents {
		name := e.Name()
		var first uint64
		switch {
		case filepath.Ext(name) == tmpSuffix:
			if !s.opts.ReadOnly {
				s.log.Info("filestore: removing an unfinished temporary file", "file", name)
				if err := os.Remove(filepath.Join(s.dir, name)); err != nil {
					return err
				}
			}
		case len(name) == len(segName(0)) && scanSegName(name, &first):
			segs = append(segs, &segment{path: filepath.Join(s.dir, name), first: first})
		}
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].first < segs[j].first })
	if err := s.loadCheckpoint(); err != nil {
		return err
	}
	if err := s.loadSeals(); err != nil {
		return err
	}
	var cut uint64
	if s.cp != nil {
		cut = s.cp.Seq
		s.head, s.headHash = s.cp.Seq, s.cp.Head
	}
	s.first = cut + 1
	segs, err = s.finishCut(segs, cut)
	if err != nil {
		return err
	}
	var sealed uint64
	for _, sl := range s.seals {
		sealed = max(sealed, sl.Seq)
	}
	next := s.first
	for i, sg := range segs {
		if err := ctx.Err(); err != nil {
			return err
		}
		last := i == len(segs)-1
		keep, err := s.loadSegment(sg, &next, cut, last, sealed)
		if err != nil {
			return err
		}
		if keep {
			s.segs = append(s.segs, sg)
		}
	}
	if n := len(s.segs); n > 0 && !s.opts.ReadOnly && !s.segs[n-1].rw {
		// The segment after it was removed (torn): this one is appended to.
		sg := s.segs[n-1]
		f, err := os.OpenFile(sg.path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		sg.f.Close()
		sg.f, sg.rw = f, true
	}
	if s.head+1 != next {
		// Only possible when every segment was cut away.
		s.head = next - 1
	}
	return nil
}

func scanSegName(name string, first *uint64) bool {
	var v uint64
	if _, err := fmt.Sscanf(name, segPattern, &v); err != nil {
		return false
	}
	if segName(v) != name {
		return false
	}
	*first = v
	return true
}

// finishCut drops the segments a Cut at seq cut replaced or removed, when a
// crash interrupted it: once the rewritten segment (first seq cut+1) exists,
// every segment before it is gone; before, the segment holding cut+1 is
// still the one to read, skipping what is cut.
func (s *Store) finishCut(segs []*segment, cut uint64) ([]*segment, error) {
	if cut == 0 {
		return segs, nil
	}
	drop := 0
	for i, sg := range segs {
		if sg.first == cut+1 {
			drop = i
			break
		}
		if sg.first <= cut+1 {
			drop = i // segments wholly before the one holding cut+1
		}
	}
	if drop == 0 {
		return segs, nil
	}
	for _, sg := range segs[:drop] {
		if s.opts.ReadOnly {
			continue
		}
		s.log.Info("filestore: removing a segment an interrupted Cut left", "file", sg.path)
		if err := os.Remove(sg.path); err != nil {
			return nil, err
		}
	}
	if !s.opts.ReadOnly {
		if err := syncDir(s.dir); err != nil {
			return nil, err
		}
	}
	return segs[drop:], nil
}

// loadSegment reads one segment, checking that its records are the ones
// expected from *next on, indexing them and advancing *next. The last
// segment's torn tail is cut away (and must not hold a sealed record).
// It reports whether the segment stays in the store.
func (s *Store) loadSegment(sg *segment, next *uint64, cut uint64, last bool, sealed uint64) (bool, error) {
	flag := os.O_RDONLY
	if last && !s.opts.ReadOnly {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(sg.path, flag, 0)
	if err != nil {
		return false, err
	}
	sg.f, sg.rw = f, flag == os.O_RDWR
	fi, err := f.Stat()
	if err != nil {
		return false, s.closeSeg(sg, err)
	}
	sg.size = fi.Size()
	var h [fileHeader]byte
	n, _ := f.ReadAt(h[:], 0)
	first, herr := parseFileHead(h[:n], segMagic)
	if herr != nil {
		if last && (n < fileHeader || allZero(h[:])) {
			// Created, but the header never reached the disk.
			return false, s.closeSeg(sg, s.recover(Recovery{File: sg.path, Dropped: sg.size, Reason: "segment header " + herr.Error() + "; segment removed"}, true))
		}
		return false, s.closeSeg(sg, &CorruptError{File: sg.path, Seq: *next, Reason: "segment header: " + herr.Error()})
	}
	if first != sg.first {
		return false, s.closeSeg(sg, &CorruptError{File: sg.path, Seq: *next, Reason: fmt.Sprintf("header names first record %d, file name %d", first, sg.first)})
	}
	if first > *next || (first < *next && first > cut) {
		return false, s.closeSeg(sg, &CorruptError{File: sg.path, Seq: *next, Reason: fmt.Sprintf("segment starts at record %d, want %d", first, *next)})
	}
	fr := newFrameReader(f, fileHeader, sg.size, maxSegmentSize)
	seq := first
	committed, committedSeq := int64(fileHeader), seq // after the last commit flag
	var pending []pendingRec
	tornReason := ""
	for {
		off := fr.off
		flags, p, err := fr.next()
		if err == io.EOF {
			break
		}
		if bf, ok := err.(*badFrame); ok {
			if !last || !bf.torn {
				return false, s.closeSeg(sg, &CorruptError{File: sg.path, Offset: bf.off, Seq: seq, Reason: bf.reason})
			}
			tornReason = bf.reason
			break
		}
		if err != nil {
			return false, s.closeSeg(sg, err)
		}
		r := new(trace.Record)
		if err := r.UnmarshalBinary(p); err != nil {
			return false, s.closeSeg(sg, &CorruptError{File: sg.path, Offset: off, Seq: seq, Reason: "record does not decode", Err: err})
		}
		if r.Seq != seq {
			return false, s.closeSeg(sg, &CorruptError{File: sg.path, Offset: off, Seq: seq, Reason: fmt.Sprintf("record carries Seq %d", r.Seq)})
		}
		pending = append(pending, pendingRec{r, loc{off, uint32(len(p))}})
		seq++
		if flags&flagCommit != 0 {
			for _, pr := range pending {
				if pr.r.Seq > cut {
					s.publish(pr.r, s.idx.keysOf(pr.r), pr.loc)
				}
			}
			pending = pending[:0]
			committed, committedSeq = fr.off, seq
		}
	}
	if committed < sg.size {
		if !last {
			return false, s.closeSeg(sg, &CorruptError{File: sg.path, Offset: sg.size, Seq: seq, Reason: fmt.Sprintf("the Append that began with record %d does not end in this segment: record %d missing", committedSeq, seq)})
		}
		reason := fmt.Sprintf("torn tail: %d complete records of an unfinished Append", len(pending))
		if tornReason != "" {
			reason = "torn tail: " + tornReason
		}
		if committedSeq <= sealed {
			return false, s.closeSeg(sg, &CorruptError{File: sg.path, Offset: committed, Seq: committedSeq, Reason: fmt.Sprintf("%s, but record %d is sealed: not a crash", reason, committedSeq)})
		}
		rec := Recovery{File: sg.path, Offset: committed, Dropped: sg.size - committed, Records: len(pending), Reason: reason}
		if len(pending) > 0 || tornReason != "" {
			rec.Seq = committedSeq
		}
		if err := s.recover(rec, false); err != nil {
			return false, s.closeSeg(sg, err)
		}
		if !s.opts.ReadOnly {
			if err := f.Truncate(committed); err != nil {
				return false, s.closeSeg(sg, err)
			}
			if err := f.Sync(); err != nil {
				return false, s.closeSeg(sg, err)
			}
		}
		sg.size = committed
	}
	sg.wsize = sg.size
	*next = max(*next, committedSeq)
	if committedSeq <= cut+1 && !last {
		// Every record of it was cut: an interrupted Cut left it.
		if !s.opts.ReadOnly {
			s.log.Info("filestore: removing a segment a Cut emptied", "file", sg.path)
			if err := os.Remove(sg.path); err != nil {
				return false, s.closeSeg(sg, err)
			}
		}
		return false, s.closeSeg(sg, nil)
	}
	return true, nil
}

type pendingRec struct {
	r   *trace.Record
	loc loc
}

func (s *Store) closeSeg(sg *segment, err error) error {
	if sg.f != nil {
		sg.f.Close()
		sg.f = nil
	}
	return err
}

// recover records a repair; remove says the file goes (a torn segment header).
func (s *Store) recover(r Recovery, remove bool) error {
	if s.opts.ReadOnly {
		r.Reason += " (read-only: skipped, not repaired)"
	} else if remove {
		if err := os.Remove(r.File); err != nil {
			return err
		}
		if err := syncDir(s.dir); err != nil {
			return err
		}
	}
	s.recovered = append(s.recovered, r)
	s.log.Warn("filestore: recovered from a crash", "file", r.File, "offset", r.Offset, "dropped", r.Dropped, "seq", r.Seq, "reason", r.Reason)
	return nil
}

// publish adds a record that is on disk to the read view. The caller holds
// mu (or owns the store, during Open).
func (s *Store) publish(r *trace.Record, k *keys, l loc) {
	t := r.Time.UnixNano()
	if n := len(s.times); n > 0 && t < s.times[n-1] {
		s.monotone = false
	}
	s.locs = append(s.locs, l)
	s.times = append(s.times, t)
	s.head, s.headHash = r.Seq, r.Hash
	s.idx.add(k, r.Seq)
}

// Recovered returns the repairs Open made after a crash: torn tails cut
// away. Each is also logged at Warn level.
func (s *Store) Recovered() []Recovery { return append([]Recovery(nil), s.recovered...) }

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// Close waits for the queued Appends, then releases the files and the
// lock. Appends that returned are already durable.
func (s *Store) Close() error {
	if s.reqs != nil {
		s.qmu.Lock()
		if s.qclosed {
			s.qmu.Unlock()
			return trace.ErrClosed
		}
		s.qclosed = true
		close(s.reqs)
		s.qmu.Unlock()
		<-s.done
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return trace.ErrClosed
	}
	s.closed = true
	return s.closeFiles()
}

func (s *Store) closeFiles() error {
	var err error
	keep := func(e error) {
		if err == nil {
			err = e
		}
	}
	for _, sg := range s.segs {
		if sg.f != nil {
			keep(sg.f.Close())
		}
	}
	for _, f := range s.retired {
		f.Close()
	}
	if s.sealf != nil {
		keep(s.sealf.Close())
	}
	if s.lock != nil {
		keep(s.lock.Close())
	}
	return err
}

// Head returns the Seq and Hash of the last record, or the checkpoint's
// when every record kept was cut.
func (s *Store) Head(ctx context.Context) (uint64, trace.Hash, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, trace.Hash{}, trace.ErrClosed
	}
	return s.head, s.headHash, nil
}

// Checkpoint returns the checkpoint of the last Cut, or nil.
func (s *Store) Checkpoint(ctx context.Context) (*trace.Checkpoint, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, trace.ErrClosed
	}
	if s.cp == nil {
		return nil, nil
	}
	return copyCheckpoint(s.cp), nil
}

// segFor returns the segment holding seq. The caller holds mu.
func (s *Store) segFor(seq uint64) *segment {
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].first > seq })
	if i == 0 {
		return nil
	}
	return s.segs[i-1]
}

// readRecord reads and decodes record seq. The caller holds mu.
func (s *Store) readRecord(seq uint64, buf *[]byte) (*trace.Record, error) {
	if seq < s.first || seq > s.head {
		return nil, fmt.Errorf("filestore: record %d: %w", seq, trace.ErrNotFound)
	}
	l := s.locs[seq-s.first]
	sg := s.segFor(seq)
	n := frameHeader + int(l.n)
	if cap(*buf) < n {
		*buf = make([]byte, n)
	}
	b := (*buf)[:n]
	if _, err := sg.f.ReadAt(b, l.off); err != nil {
		return nil, &CorruptError{File: sg.path, Offset: l.off, Seq: seq, Reason: "cannot read the frame", Err: err}
	}
	if !headerOK(b) || binary.LittleEndian.Uint32(b[0:4]) != l.n {
		return nil, &CorruptError{File: sg.path, Offset: l.off, Seq: seq, Reason: "frame header changed since Open"}
	}
	if !payloadOK(b, b[frameHeader:]) {
		return nil, &CorruptError{File: sg.path, Offset: l.off, Seq: seq, Reason: "frame checksum mismatch"}
	}
	r := new(trace.Record)
	if err := r.UnmarshalBinary(b[frameHeader:]); err != nil {
		return nil, &CorruptError{File: sg.path, Offset: l.off, Seq: seq, Reason: "record does not decode", Err: err}
	}
	return r, nil
}

// Get returns record seq, or an error matching trace.ErrNotFound.
func (s *Store) Get(ctx context.Context, seq uint64) (*trace.Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, trace.ErrClosed
	}
	var buf []byte
	return s.readRecord(seq, &buf)
}

// Scan calls fn for every record with Seq >= from, in Seq order, reading
// the segments sequentially. Records appended while it runs may or may not
// be seen.
func (s *Store) Scan(ctx context.Context, from uint64, fn func(*trace.Record) error) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return trace.ErrClosed
	}
	from = max(from, s.first)
	head := s.head
	segs := append([]*segment(nil), s.segs...)
	sizes := make([]int64, len(segs))
	for i, sg := range segs {
		sizes[i] = sg.size
	}
	var startOff int64
	if from <= head {
		startOff = s.locs[from-s.first].off
	}
	s.mu.RUnlock()
	if from > head {
		return nil
	}
	seq := from
	for i, sg := range segs {
		if i+1 < len(segs) && segs[i+1].first <= seq {
			continue
		}
		off := int64(fileHeader)
		if sg.first <= from {
			off = startOff
		}
		fr := newFrameReader(sg.f, off, sizes[i], maxSegmentSize)
		for seq <= head {
			if err := ctx.Err(); err != nil {
				return err
			}
			at := fr.off
			_, p, err := fr.next()
			if err == io.EOF {
				break
			}
			if bf, ok := err.(*badFrame); ok {
				return &CorruptError{File: sg.path, Offset: bf.off, Seq: seq, Reason: bf.reason}
			}
			if err != nil {
				return err
			}
			r := new(trace.Record)
			if err := r.UnmarshalBinary(p); err != nil {
				return &CorruptError{File: sg.path, Offset: at, Seq: seq, Reason: "record does not decode", Err: err}
			}
			seq++
			if err := fn(r); err != nil {
				return err
			}
		}
		if seq > head {
			break
		}
	}
	return nil
}
