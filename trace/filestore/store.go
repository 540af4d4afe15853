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

	// ZeroFill bounds the size at which a segment file is made: filled
	// with zeros, written and fsync'd before the segment is used, so that
	// each commit overwrites blocks already allocated without changing the
	// file's size and only needs fdatasync, not a journal commit. The file
	// for the next segment is prepared in the background while the active
	// one fills. A store's first segments start smaller (1 MiB, then four
	// times the one before) and the active segment is rolled early, at its
	// zero-filled size, when the next file is ready, so that a store that
	// holds little costs little. Default (0): SegmentSize; at most
	// SegmentSize; negative: no zero filling, the segment grows with each
	// commit (by whole 4 KiB blocks when written with direct I/O: the
	// zeros past the last record are cut off the active segment at Close
	// and stay at the end of the others, as zero-filled padding does).
	// Segments without zero padding (of earlier versions) open the
	// same.
	ZeroFill int64

	// MaxRecordSize bounds one encoded record (default
	// trace.DefaultMaxRecordSize); an Append with a record over it fails
	// with trace.ErrTooLarge and writes nothing.
	MaxRecordSize int

	// ReadOnly opens the store for reading only, without taking the write
	// lock, so that it can be inspected while another process writes to
	// it; it sees the log as it was when opened. Nothing is repaired: a
	// torn tail (or the frames of an Append still being written) is only
	// skipped and reported.
	ReadOnly bool

	// NoDirectIO makes the store write its records through the page
	// cache. By default, on Linux, each commit is written with direct I/O
	// (O_DIRECT, whole 4 KiB blocks, the last one written again by the
	// next commit) where the file system allows it, and falls back to the
	// page cache where it does not: the fdatasync that follows then has
	// only to flush the disk's cache, which takes less time and much less
	// processor than writing back dirty pages first.
	NoDirectIO bool

	// Logger receives recoveries and warnings (nil: silent).
	Logger *slog.Logger
}

// Store is a trace.Store in one directory. It is safe for concurrent use.
type Store struct {
	dir  string
	opts Options
	log  *slog.Logger
	lock *os.File

	// mu guards the read view below. The syncer holds it only to publish
	// what it has already written and fsync'd.
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

	// wmu serialises writing: each Append holds it while it chains and
	// encodes its records, AddSeal and Cut for their whole work (Cut
	// also waits for the batches encoded to be fsync'd).
	wmu      sync.Mutex
	whead    uint64     // Seq of the last record encoded (maybe not yet fsync'd)
	whash    trace.Hash // its Hash
	wclosed  bool       // Close has begun: no more Appends
	sealf    *os.File
	sealSize int64

	// bmu guards the batch that Appends fill and the syncer takes.
	bmu  sync.Mutex
	open *batch // being filled, or nil
	last *batch // the newest batch, open or taken; batches complete in order

	// pqmu guards the batches made durable, waiting to be published.
	pqmu sync.Mutex
	pubq []*batch

	kick      chan struct{} // a batch is open (room for one)
	syncDone  chan struct{} // the syncer has ended
	toIndex   chan *batch   // batches taken by the syncer, to index
	indexDone chan struct{} // indexLoop has ended
	wbuf      []byte        // the syncer's, to gather chunks into one write
	dio       direct        // the syncer's direct writes

	fmu    sync.Mutex
	failed error // a write or fsync failed: the store refuses further writes

	// The file of the next segment, filled with zeros in the background
	// (see prepLoop).
	pmu       sync.Mutex
	spare     *spareFile // ready, or nil
	preparing bool       // a spare is being made
	prepReq   chan int64 // the size of the next spare to make
	prepDone  chan struct{}
	prepStop  atomic.Bool

	recovered []Recovery
	commits   atomic.Uint64 // batches written (fsyncs of appends), for the benchmarks
}

// segment is one segment file.
type segment struct {
	path  string
	first uint64
	f     *os.File // read-only, or read-write for the last segment of a writable store
	rw    bool     // f is open for writing
	size  int64    // bytes written, fsync'd and published (guarded by mu)
	wsize int64    // bytes written and encoded to be written (guarded by wmu)
	fill  int64    // the file's size when made or opened: the bytes past size, to fill, are zeros
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
// crash (see Recovered) and rebuilds the indexes, reading every segment;
// they take about 140 bytes of memory per record.
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
	switch {
	case s.opts.ZeroFill == 0 || s.opts.ZeroFill > s.opts.SegmentSize:
		s.opts.ZeroFill = s.opts.SegmentSize
	case s.opts.ZeroFill < 0:
		s.opts.ZeroFill = 0
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
		s.kick = make(chan struct{}, 1)
		s.syncDone = make(chan struct{})
		s.prepReq = make(chan int64, 1)
		s.prepDone = make(chan struct{})
		s.dio.disabled = s.opts.NoDirectIO
		s.toIndex = make(chan *batch, 16)
		s.indexDone = make(chan struct{})
		go s.prepLoop()
		go s.indexLoop()
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
			if err := os.MkdirAll(s.dir, dirMode); err != nil {
				return err
			}
		case derr != nil:
			if os.IsNotExist(derr) {
				return fmt.Errorf("filestore: %w", derr)
			}
			return &NotStoreError{s.dir, derr.Error()}
		case len(ents) > 1 || len(ents) == 1 && ents[0].Name() != "lost+found":
			// The root of a file system made for the log holds only
			// lost+found: still an empty place for a store.
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

// publish adds a record that is on disk, and in the indexes, to the read
// view. The caller holds mu (or owns the store, during Open).
func (s *Store) publish(r *trace.Record, l loc) {
	t := r.Time.UnixNano()
	if n := len(s.times); n > 0 && t < s.times[n-1] {
		s.monotone = false
	}
	s.locs = append(s.locs, l)
	s.times = append(s.times, t)
	s.head, s.headHash = r.Seq, r.Hash
}

// Recovered returns the repairs Open made after a crash: torn tails cut
// away. Each is also logged at Warn level.
func (s *Store) Recovered() []Recovery { return append([]Recovery(nil), s.recovered...) }

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// Close waits for the Appends already chained to be durable, then
// releases the files and the lock; Appends that come later fail with
// trace.ErrClosed. Appends that returned are already durable.
func (s *Store) Close() error {
	if s.kick != nil {
		s.wmu.Lock()
		if s.wclosed {
			s.wmu.Unlock()
			return trace.ErrClosed
		}
		s.wclosed = true
		close(s.kick) // under wmu: no Append is waking the syncer
		s.wmu.Unlock()
		<-s.syncDone // it has committed every batch left
		<-s.indexDone
		s.wmu.Lock()
		s.settle()
		s.wmu.Unlock()
		s.stopPrep()
		s.trimActive()
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

// view is what a reader needs of the read view, taken under mu and then
// used without it: the slices only ever grow past their length (appends)
// or are replaced whole (Cut), and the files of segments cut stay open
// until Close.
type view struct {
	first, head uint64
	locs        []loc
	times       []int64
	segs        []*segment
}

// view returns the current view. The caller holds mu.
func (s *Store) view() *view {
	n := len(s.locs)
	return &view{first: s.first, head: s.head, locs: s.locs[:n:n], times: s.times[:n:n], segs: append([]*segment(nil), s.segs...)}
}

// segFor returns the segment holding seq.
func (v *view) segFor(seq uint64) *segment {
	i := sort.Search(len(v.segs), func(i int) bool { return v.segs[i].first > seq })
	if i == 0 {
		return nil
	}
	return v.segs[i-1]
}

// readRecord reads and decodes record seq. The caller holds mu.
func (s *Store) readRecord(seq uint64, buf *[]byte) (*trace.Record, error) {
	return s.view().read(seq, buf)
}

// read reads and decodes record seq, checking its frame.
func (v *view) read(seq uint64, buf *[]byte) (*trace.Record, error) {
	if seq < v.first || seq > v.head || seq-v.first >= uint64(len(v.locs)) {
		return nil, fmt.Errorf("filestore: record %d: %w", seq, trace.ErrNotFound)
	}
	l := v.locs[seq-v.first]
	sg := v.segFor(seq)
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

// trimActive cuts the zero padding off the active segment, at Close, so
// that the segment appended to last holds no more than its records: the
// padding pays only while the store is open for appending.
func (s *Store) trimActive() {
	sg := s.active()
	if sg == nil || !sg.rw || s.failure() != nil {
		return
	}
	if fi, err := sg.f.Stat(); err != nil || fi.Size() <= sg.size {
		return // (a direct write pads the last block with zeros, even past fill)
	}
	if err := sg.f.Truncate(sg.size); err == nil {
		sg.f.Sync()
		sg.fill = sg.size
	}
}
