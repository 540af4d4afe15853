package pgstore

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/trace"
)

// Query returns the records that match every non-zero field of q, in Seq
// order. The indexes select candidates (identifiers and addresses by their
// normalised keys, time by its range); q.Match decides, so that the answer
// is the one every trace.Store gives.
func (s *Store) Query(ctx context.Context, q trace.Query) ([]*trace.Record, error) {
	if s.isClosed() {
		return nil, trace.ErrClosed
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	for _, v := range []string{q.MsgID, q.ClientMsgID, q.Address} {
		if v != "" && pec.NormalizeMsgID(v) == "" {
			return nil, nil // only brackets and space: matches no record (Query.Match)
		}
	}
	if k := idKey(q.MsgID); k != "" {
		where = append(where, "msgid = "+arg(k))
	}
	if k := idKey(q.ClientMsgID); k != "" {
		where = append(where, "client_msgid = "+arg(k))
	}
	if k := trace.NormalizeAddress(q.Address); k != "" {
		where = append(where, "seq IN (SELECT seq FROM "+s.q("addresses")+" WHERE addr = "+arg(k)+")")
	}
	if !q.Since.IsZero() {
		where = append(where, "time_ns >= "+arg(q.Since.UnixNano()))
	}
	if !q.Until.IsZero() {
		where = append(where, "time_ns < "+arg(q.Until.UnixNano()))
	}
	where = append(where, "seq > "+arg(int64(0)))
	after := len(args) - 1
	sql := "SELECT seq, data FROM " + s.q("records") + " WHERE " + strings.Join(where, " AND ") + " ORDER BY seq"
	page := 0
	if q.Limit > 0 {
		// The keys are a superset of what matches, rarely larger: ask for
		// Limit rows, and for more only when some did not match.
		page = q.Limit
		sql += " LIMIT " + arg(int64(page))
	}
	var out []*trace.Record
	for {
		rows, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return nil, fmt.Errorf("pgstore: query: %w", err)
		}
		n := 0
		var seq int64
		var data []byte
		_, err = pgx.ForEachRow(rows, []any{&seq, &data}, func() error {
			n++
			args[after] = seq // a next page resumes after it
			if q.Limit > 0 && len(out) >= q.Limit {
				return nil
			}
			r, err := decode(seq, data)
			if err != nil {
				return err
			}
			if q.Match(r) {
				out = append(out, r)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("pgstore: query: %w", err)
		}
		if page == 0 || n < page || len(out) >= q.Limit {
			return out, nil
		}
	}
}

// Reissue returns the signed bytes of the generated message whose
// Message-ID is messageID, exactly as logged, or an error matching
// trace.ErrNotFound. Bytes that no longer match the record's chained
// MessageHash give an error matching trace.ErrCorrupt.
func (s *Store) Reissue(ctx context.Context, messageID string) ([]byte, error) {
	if s.isClosed() {
		return nil, trace.ErrClosed
	}
	k := idKey(messageID)
	if k == "" {
		return nil, fmt.Errorf("pgstore: reissue: empty Message-ID: %w", trace.ErrNotFound)
	}
	rows, err := s.pool.Query(ctx, "SELECT r.seq, r.data FROM "+s.q("generated")+" g JOIN "+s.q("records")+
		" r ON r.seq = g.seq WHERE g.msgid = $1 ORDER BY r.seq", k)
	if err != nil {
		return nil, fmt.Errorf("pgstore: reissue %s: %w", messageID, err)
	}
	var found, ref *trace.Record
	var seq int64
	var data []byte
	_, err = pgx.ForEachRow(rows, []any{&seq, &data}, func() error {
		if found != nil {
			return nil
		}
		r, err := decode(seq, data)
		if err != nil {
			return err
		}
		for _, g := range r.Generated {
			if idKey(g) == k {
				if len(r.Message) > 0 {
					found = r
				} else if ref == nil {
					ref = r
				}
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: reissue %s: %w", messageID, err)
	}
	switch {
	case found != nil:
		if sha256.Sum256(found.Message) != found.MessageHash {
			return nil, fmt.Errorf("pgstore: reissue %s: record %d: message bytes do not match its MessageHash: %w",
				messageID, found.Seq, trace.ErrCorrupt)
		}
		return found.Message, nil
	case ref != nil && ref.MessageRef != "":
		return nil, fmt.Errorf("pgstore: reissue %s: record %d keeps the message outside the log, at %q: %w",
			messageID, ref.Seq, ref.MessageRef, trace.ErrNotFound)
	case ref != nil:
		return nil, fmt.Errorf("pgstore: reissue %s: record %d logged no message bytes: %w", messageID, ref.Seq, trace.ErrNotFound)
	}
	return nil, fmt.Errorf("pgstore: reissue %s: %w", messageID, trace.ErrNotFound)
}
