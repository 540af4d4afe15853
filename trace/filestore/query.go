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
	// The Seqs to look at: all, or the time range when times only grow.
	lo, hi := s.first, s.head
	if s.monotone && len(s.times) > 0 {
		n := len(s.times)
		if !q.Since.IsZero() {
			lo = s.first + uint64(sort.Search(n, func(i int) bool { return s.times[i] >= since }))
		}
		if !q.Until.IsZero() {
			hi = s.first + uint64(sort.Search(n, func(i int) bool { return s.times[i] >= until }))
			if hi == 0 {
				return nil, nil
			}
			hi--
		}
	}
	var out []*trace.Record
	var buf []byte
	var err error
	looked := 0
	// try reads record seq and keeps it when it matches; it returns false
	// when the query is complete or failed.
	try := func(seq uint64) bool {
		t := s.times[seq-s.first]
		if (!q.Since.IsZero() && t < since) || (!q.Until.IsZero() && t >= until) {
			return true
		}
		if looked++; looked%1024 == 0 {
			if err = ctx.Err(); err != nil {
				return false
			}
		}
		var r *trace.Record
		if r, err = s.readRecord(seq, &buf); err != nil {
			return false
		}
		if q.Match(r) {
			out = append(out, r)
		}
		return q.Limit <= 0 || len(out) < q.Limit
	}
	if lo > hi || len(s.locs) == 0 {
		return nil, nil
	}
	if p, k, ok, none := s.bestKey(&q); none {
		return nil, nil
	} else if ok {
		p.each(k, lo, hi, try)
	} else {
		for seq := lo; seq <= hi && try(seq); seq++ {
		}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// bestKey returns the shortest posting list among q's keys; ok is false
// when q names none, and none is true when a key can match nothing. The
// caller holds mu.
func (s *Store) bestKey(q *trace.Query) (best *postings, key uint64, ok, none bool) {
	bestN := -1
	for _, c := range []struct {
		v string
		p *postings
	}{{q.MsgID, &s.idx.msgID}, {q.ClientMsgID, &s.idx.clientID}, {q.Address, &s.idx.address}} {
		if c.v == "" {
			continue
		}
		k, valid := s.idx.key(c.v)
		if !valid {
			return nil, 0, false, true // only space and brackets
		}
		if n := c.p.count(k); bestN < 0 || n < bestN {
			best, key, bestN = c.p, k, n
		}
	}
	return best, key, best != nil, false
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
	var found []byte
	var err error
	ref := ""
	s.idx.generated.each(k, s.first, s.head, func(seq uint64) bool {
		var r *trace.Record
		if r, err = s.readRecord(seq, &buf); err != nil {
			return false
		}
		for _, g := range r.Generated {
			if !pec.EqualMsgID(g, messageID) {
				continue
			}
			if len(r.Message) > 0 {
				found = r.Message
				return false
			}
			if r.MessageRef != "" && ref == "" {
				ref = r.MessageRef
			}
		}
		return true
	})
	switch {
	case err != nil:
		return nil, err
	case found != nil:
		return found, nil
	case ref != "":
		return nil, fmt.Errorf("filestore: reissue %q: the message is kept outside the log, as %q: %w", messageID, ref, trace.ErrNotFound)
	}
	return nil, fmt.Errorf("filestore: reissue %q: %w", messageID, trace.ErrNotFound)
}
