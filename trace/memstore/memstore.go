package memstore

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/pecsdk/pec/trace"
)

// Options configures New. A nil *Options selects the defaults.
type Options struct {
	// MaxRecordSize bounds the encoding of one record (MarshalBinary);
	// zero means trace.DefaultMaxRecordSize.
	MaxRecordSize int
}

// Store is an in-memory trace.Store, safe for concurrent use. It keeps
// deep copies of what it is given and hands out deep copies.
type Store struct {
	max int

	mu      sync.RWMutex
	closed  bool
	base    uint64          // Seq of the checkpoint: recs[i].Seq == base+1+i
	head    trace.Hash      // hash of the last record (or the checkpoint's)
	recs    []*trace.Record // kept, in Seq order
	seals   []*trace.Seal
	cp      *trace.Checkpoint
	byMsgID map[string][]uint64 // NormalizeID(MsgID) → Seqs
	byCli   map[string][]uint64 // NormalizeID(ClientMsgID) → Seqs
	byAddr  map[string][]uint64 // NormalizeAddress → Seqs
	byGen   map[string][]uint64 // NormalizeID(generated Message-ID) → Seqs
}

var _ trace.Store = (*Store)(nil)

// New returns an empty store.
func New(opts *Options) *Store {
	s := &Store{max: trace.DefaultMaxRecordSize}
	if opts != nil && opts.MaxRecordSize > 0 {
		s.max = opts.MaxRecordSize
	}
	s.reindex()
	return s
}

func (s *Store) reindex() {
	s.byMsgID = map[string][]uint64{}
	s.byCli = map[string][]uint64{}
	s.byAddr = map[string][]uint64{}
	s.byGen = map[string][]uint64{}
	for _, r := range s.recs {
		s.index(r)
	}
}

func (s *Store) index(r *trace.Record) {
	if r.MsgID != "" {
		k := trace.NormalizeID(r.MsgID)
		s.byMsgID[k] = append(s.byMsgID[k], r.Seq)
	}
	if r.ClientMsgID != "" {
		k := trace.NormalizeID(r.ClientMsgID)
		s.byCli[k] = append(s.byCli[k], r.Seq)
	}
	for _, a := range r.Addresses() {
		s.byAddr[a] = append(s.byAddr[a], r.Seq)
	}
	for _, g := range r.Generated {
		k := trace.NormalizeID(g)
		if l := s.byGen[k]; len(l) == 0 || l[len(l)-1] != r.Seq {
			s.byGen[k] = append(l, r.Seq)
		}
	}
}

// Append implements trace.Store.
func (s *Store) Append(ctx context.Context, recs ...*trace.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	copies := make([]*trace.Record, len(recs))
	for i, r := range recs {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("record %d of %d: %w", i+1, len(recs), err)
		}
		c := r.Clone()
		c.Seq, c.Prev, c.Hash = 0, trace.Hash{}, trace.Hash{}
		b, _ := c.MarshalBinary()
		if len(b) > s.max {
			return fmt.Errorf("%w: record %d of %d encodes to %d bytes, limit %d", trace.ErrTooLarge, i+1, len(recs), len(b), s.max)
		}
		copies[i] = c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return trace.ErrClosed
	}
	seq, prev := s.base+uint64(len(s.recs)), s.head
	for i, c := range copies {
		seq++
		c.Chain(seq, prev)
		prev = c.Hash
		r := recs[i]
		r.Seq, r.Prev, r.MessageHash, r.Hash = c.Seq, c.Prev, c.MessageHash, c.Hash
	}
	s.recs = append(s.recs, copies...)
	s.head = prev
	for _, c := range copies {
		s.index(c)
	}
	return nil
}

// Head implements trace.Store.
func (s *Store) Head(ctx context.Context) (uint64, trace.Hash, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, trace.Hash{}, trace.ErrClosed
	}
	return s.base + uint64(len(s.recs)), s.head, nil
}

// at returns the kept record at seq, or nil; s.mu is held.
func (s *Store) at(seq uint64) *trace.Record {
	if seq <= s.base || seq > s.base+uint64(len(s.recs)) {
		return nil
	}
	return s.recs[seq-s.base-1]
}

// Get implements trace.Store.
func (s *Store) Get(ctx context.Context, seq uint64) (*trace.Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, trace.ErrClosed
	}
	r := s.at(seq)
	if r == nil {
		return nil, fmt.Errorf("%w: no record %d", trace.ErrNotFound, seq)
	}
	return r.Clone(), nil
}

// Scan implements trace.Store. fn runs without the store locked: it may
// call the store, and appends made meanwhile are not seen.
func (s *Store) Scan(ctx context.Context, from uint64, fn func(*trace.Record) error) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return trace.ErrClosed
	}
	recs := s.recs
	if from > s.base+1 {
		n := from - s.base - 1
		if n > uint64(len(recs)) {
			n = uint64(len(recs))
		}
		recs = recs[n:]
	}
	s.mu.RUnlock()
	for _, r := range recs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r.Clone()); err != nil {
			return err
		}
	}
	return nil
}

// Query implements trace.Store. It starts from the narrowest index the
// query names, and filters with Query.Match.
func (s *Store) Query(ctx context.Context, q trace.Query) ([]*trace.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, trace.ErrClosed
	}
	var cand []uint64
	indexed := false
	narrow := func(l []uint64) {
		if !indexed || len(l) < len(cand) {
			cand = l
		}
		indexed = true
	}
	if q.MsgID != "" {
		narrow(s.byMsgID[trace.NormalizeID(q.MsgID)])
	}
	if q.ClientMsgID != "" {
		narrow(s.byCli[trace.NormalizeID(q.ClientMsgID)])
	}
	if q.Address != "" {
		narrow(s.byAddr[trace.NormalizeAddress(q.Address)])
	}
	var out []*trace.Record
	take := func(r *trace.Record) bool {
		if r != nil && q.Match(r) {
			out = append(out, r.Clone())
		}
		return q.Limit <= 0 || len(out) < q.Limit
	}
	if indexed {
		for _, seq := range cand {
			if !take(s.at(seq)) {
				break
			}
		}
		return out, nil
	}
	for _, r := range s.recs {
		if !take(r) {
			break
		}
	}
	return out, nil
}

// Reissue implements trace.Store: it returns the inline message of the
// first record that keeps the message messageID (trace.Record.Keeps), not
// that of a record merely listing it among others it generated.
func (s *Store) Reissue(ctx context.Context, messageID string) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, trace.ErrClosed
	}
	id := trace.NormalizeID(messageID)
	ref := ""
	for _, seq := range s.byGen[id] {
		r := s.at(seq)
		if r == nil || !r.Keeps(id) {
			continue
		}
		if len(r.Message) > 0 {
			return slices.Clone(r.Message), nil
		}
		if r.MessageRef != "" && ref == "" {
			ref = r.MessageRef
		}
	}
	if ref != "" {
		return nil, fmt.Errorf("%w: message %s is kept outside the log, at %q", trace.ErrNotFound, id, ref)
	}
	return nil, fmt.Errorf("%w: no message %s in the log", trace.ErrNotFound, id)
}

// AddSeal implements trace.Store.
func (s *Store) AddSeal(ctx context.Context, seal *trace.Seal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return trace.ErrClosed
	}
	r := s.at(seal.Seq)
	if r == nil {
		return fmt.Errorf("%w: seal of record %d, which the log does not hold", trace.ErrSealMismatch, seal.Seq)
	}
	if r.Hash != seal.Head {
		return fmt.Errorf("%w: seal head is not the hash of record %d", trace.ErrSealMismatch, seal.Seq)
	}
	c := *seal
	c.Signature = slices.Clone(seal.Signature)
	i, _ := slices.BinarySearchFunc(s.seals, c.Seq+1, func(e *trace.Seal, t uint64) int { return cmpU(e.Seq, t) })
	s.seals = slices.Insert(s.seals, i, &c)
	return nil
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Seals implements trace.Store.
func (s *Store) Seals(ctx context.Context) ([]*trace.Seal, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, trace.ErrClosed
	}
	out := make([]*trace.Seal, len(s.seals))
	for i, x := range s.seals {
		c := *x
		c.Signature = slices.Clone(x.Signature)
		out[i] = &c
	}
	return out, nil
}

// Cut implements trace.Store.
func (s *Store) Cut(ctx context.Context, cp *trace.Checkpoint) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return trace.ErrClosed
	}
	r := s.at(cp.Seq)
	if r == nil {
		return fmt.Errorf("%w: checkpoint at record %d, which the log does not hold", trace.ErrSealMismatch, cp.Seq)
	}
	if r.Hash != cp.Head {
		return fmt.Errorf("%w: checkpoint head is not the hash of record %d", trace.ErrSealMismatch, cp.Seq)
	}
	n := cp.Seq - s.base
	s.recs = slices.Clone(s.recs[n:]) // a Scan in progress keeps the old slice
	s.base = cp.Seq
	keep := s.seals[:0:0]
	for _, x := range s.seals {
		if x.Seq > cp.Seq {
			keep = append(keep, x)
		}
	}
	s.seals = keep
	c := *cp
	c.Signature = slices.Clone(cp.Signature)
	s.cp = &c
	s.reindex()
	return nil
}

// Checkpoint implements trace.Store.
func (s *Store) Checkpoint(ctx context.Context) (*trace.Checkpoint, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, trace.ErrClosed
	}
	if s.cp == nil {
		return nil, nil
	}
	c := *s.cp
	c.Signature = slices.Clone(s.cp.Signature)
	return &c, nil
}

// Close implements trace.Store. Every later call returns trace.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
