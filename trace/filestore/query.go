package filestore

import (
	"context"
	"fmt"
	"sort"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/trace"
)

// Query returns the records that match q, in Seq order. It picks the most
// selective index among the identifiers and the address of q, narrows by
// time in memory, and reads from disk only the records that may match.
func (s *Store) Query(ctx context.Context, q trace.Query) ([]*trace.Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, trace.ErrClosed
	}
	var since, until int64
	if !q.Since.IsZero() {
		since = q.Since.UnixNano()
	}
	if !q.Until.IsZero() {
		until = q.Until.UnixNano()
	}
	inTime := func(pos uint64) bool {
		t := s.times[pos]
		return (q.Since.IsZero() || t >= since) && (q.Until.IsZero() || t < until)
	}
	var out []*trace.Record
	var buf []byte
	// try reads record seq and keeps it when it matches; it reports
	// whether the query is complete.
	try := func(seq uint64) (bool, error) {
		if !inTime(seq - s.first) {
			return false, nil
		}
		r, err := s.readRecord(seq, &buf)
		if err != nil {
			return false, err
		}
		if q.Match(r) {
			out = append(out, r)
		}
		return q.Limit > 0 && len(out) >= q.Limit, nil
	}
	n := uint64(len(s.locs))
	if cands, ok := s.keyCandidates(&q); ok {
		for i, seq := range cands {
			if i%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			if done, err := try(seq); err != nil || done {
				return out, err
			}
		}
		return out, nil
	}
	lo, hi := uint64(0), n // positions to look at
	if s.monotone {
		if !q.Since.IsZero() {
			lo = uint64(sort.Search(int(n), func(i int) bool { return s.times[i] >= since }))
		}
		if !q.Until.IsZero() {
			hi = uint64(sort.Search(int(n), func(i int) bool { return s.times[i] >= until }))
		}
	}
	for pos := lo; pos < hi; pos++ {
		if pos%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if done, err := try(s.first + pos); err != nil || done {
			return out, err
		}
	}
	return out, nil
}

// keyCandidates returns the Seqs the shortest posting list of q's keys
// holds, or false when q names no key. The caller holds mu.
func (s *Store) keyCandidates(q *trace.Query) ([]uint64, bool) {
	var best *postings
	var bestKey uint64
	bestN := -1
	for _, c := range []struct {
		v string
		p *postings
	}{{q.MsgID, &s.idx.msgID}, {q.ClientMsgID, &s.idx.clientID}, {q.Address, &s.idx.address}} {
		if c.v == "" {
			continue
		}
		k, ok := s.idx.key(c.v)
		if !ok {
			return nil, true // a key of only space and brackets matches nothing
		}
		if n := c.p.count(k); bestN < 0 || n < bestN {
			best, bestKey, bestN = c.p, k, n
		}
	}
	if best == nil {
		return nil, false
	}
	return best.get(bestKey, s.first), true
}

// Reissue returns the signed bytes of the generated message whose
// Message-ID is messageID, from the first record that lists it among its
// Generated identifiers and keeps the bytes inline. A record that only
// references them (MessageRef) is reported, wrapping trace.ErrNotFound.
func (s *Store) Reissue(ctx context.Context, messageID string) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, trace.ErrClosed
	}
	k, ok := s.idx.key(messageID)
	if !ok {
		return nil, fmt.Errorf("filestore: reissue %q: %w", messageID, trace.ErrNotFound)
	}
	var buf []byte
	ref := ""
	for _, seq := range s.idx.generated.get(k, s.first) {
		r, err := s.readRecord(seq, &buf)
		if err != nil {
			return nil, err
		}
		for _, g := range r.Generated {
			if !pec.EqualMsgID(g, messageID) {
				continue
			}
			if len(r.Message) > 0 {
				return r.Message, nil
			}
			if r.MessageRef != "" && ref == "" {
				ref = r.MessageRef
			}
		}
	}
	if ref != "" {
		return nil, fmt.Errorf("filestore: reissue %q: the message is kept outside the log, as %q: %w", messageID, ref, trace.ErrNotFound)
	}
	return nil, fmt.Errorf("filestore: reissue %q: %w", messageID, trace.ErrNotFound)
}
