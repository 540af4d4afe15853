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
// The store is locked only while the indexes are consulted: the reads do
// not hold appends back.
func (s *Store) Query(ctx context.Context, q trace.Query) ([]*trace.Record, error) {
	var since, until int64
	if !q.Since.IsZero() {
		since = q.Since.UnixNano()
	}
	if !q.Until.IsZero() {
		until = q.Until.UnixNano()
	}
	inTime := func(v *view, seq uint64) bool {
		t := v.times[seq-v.first]
		return (q.Since.IsZero() || t >= since) && (q.Until.IsZero() || t < until)
	}

	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, trace.ErrClosed
	}
	v := s.view()
	// The Seqs to look at: all, or the time range when times only grow.
	lo, hi := v.first, v.first+uint64(len(v.locs))-1
	if n := len(v.times); s.monotone && n > 0 {
		if !q.Since.IsZero() {
			lo = v.first + uint64(sort.Search(n, func(i int) bool { return v.times[i] >= since }))
		}
		if !q.Until.IsZero() {
			hi = v.first + uint64(sort.Search(n, func(i int) bool { return v.times[i] >= until })) - 1
		}
	}
	var cands list
	keyed := false
	if p, k, ok, none := s.bestKey(&q); none || len(v.locs) == 0 || lo > hi || lo < v.first {
		s.mu.RUnlock()
		return nil, nil
	} else if ok {
		keyed, cands = true, p.list(k)
	}
	s.mu.RUnlock()

	var out []*trace.Record
	var buf []byte
	var err error
	looked := 0
	// try reads record seq and keeps it when it matches; it returns false
	// when the query is complete or failed.
	try := func(seq uint64) bool {
		if !inTime(v, seq) {
			return true
		}
		if looked++; looked%1024 == 0 {
			if err = ctx.Err(); err != nil {
				return false
			}
		}
		var r *trace.Record
		if r, err = v.read(seq, &buf); err != nil {
			return false
		}
		if q.Match(r) {
			out = append(out, r)
		}
		return q.Limit <= 0 || len(out) < q.Limit
	}
	if keyed {
		cands.each(lo, hi, try)
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
	if s.closed {
		s.mu.RUnlock()
		return nil, trace.ErrClosed
	}
	v := s.view()
	var cands []uint64
	k, ok := s.idx.key(messageID)
	if ok {
		s.idx.generated.list(k).each(v.first, v.head, func(seq uint64) bool {
			cands = append(cands, seq)
			return true
		})
	}
	s.mu.RUnlock()
	var buf []byte
	var found []byte
	var err error
	ref := ""
	for _, seq := range cands {
		var r *trace.Record
		if r, err = v.read(seq, &buf); err != nil {
			break
		}
		for _, g := range r.Generated {
			if !pec.EqualMsgID(g, messageID) {
				continue
			}
			if len(r.Message) > 0 && found == nil {
				found = r.Message
			}
			if r.MessageRef != "" && ref == "" {
				ref = r.MessageRef
			}
		}
		if found != nil {
			break
		}
	}
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
