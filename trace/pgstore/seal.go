package pgstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pecsdk/pec/trace"
)

// AddSeal stores a seal of the chain head at s.Seq. The record s.Seq must
// be in the log with hash s.Head (else trace.ErrSealMismatch); the
// signature is not checked here, trace.Verify checks it.
func (s *Store) AddSeal(ctx context.Context, seal *trace.Seal) error {
	if s.isClosed() {
		return trace.ErrClosed
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: add seal: %w", err)
	}
	defer tx.Rollback(ctx)
	// FOR SHARE on the head orders the seal with Cut, which could
	// otherwise remove the record between the check and the insert.
	if _, err := tx.Exec(ctx, "SELECT 1 FROM "+s.q("head")+" WHERE one FOR SHARE"); err != nil {
		return fmt.Errorf("pgstore: add seal: %w", err)
	}
	if err := s.matchRecord(ctx, tx, "seal", seal.Seq, seal.Head); err != nil {
		return err
	}
	tns, toff := timeCols(seal.Time)
	if _, err := tx.Exec(ctx, "INSERT INTO "+s.q("seals")+" (seq, head, time_ns, time_off, signature) VALUES ($1, $2, $3, $4, $5)",
		int64(seal.Seq), seal.Head[:], tns, toff, nonNil(seal.Signature)); err != nil {
		return fmt.Errorf("pgstore: add seal: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: add seal: commit: %w", err)
	}
	return nil
}

// matchRecord checks that the log holds record seq with hash head.
func (s *Store) matchRecord(ctx context.Context, tx pgx.Tx, what string, seq uint64, head trace.Hash) error {
	if seq == 0 || seq > maxSeq {
		return fmt.Errorf("pgstore: %s of record %d, which the log does not hold: %w", what, seq, trace.ErrSealMismatch)
	}
	var h []byte
	err := tx.QueryRow(ctx, "SELECT hash FROM "+s.q("records")+" WHERE seq = $1", int64(seq)).Scan(&h)
	if err == pgx.ErrNoRows {
		return fmt.Errorf("pgstore: %s of record %d, which the log does not hold: %w", what, seq, trace.ErrSealMismatch)
	}
	if err != nil {
		return fmt.Errorf("pgstore: %s: %w", what, err)
	}
	if !bytes.Equal(h, head[:]) {
		return fmt.Errorf("pgstore: %s head is not the hash of record %d: %w", what, seq, trace.ErrSealMismatch)
	}
	return nil
}

// Seals returns the stored seals in Seq order (in the order added, for
// seals of the same record).
func (s *Store) Seals(ctx context.Context) ([]*trace.Seal, error) {
	if s.isClosed() {
		return nil, trace.ErrClosed
	}
	rows, err := s.pool.Query(ctx, "SELECT seq, head, time_ns, time_off, signature FROM "+s.q("seals")+" ORDER BY seq, id")
	if err != nil {
		return nil, fmt.Errorf("pgstore: seals: %w", err)
	}
	var out []*trace.Seal
	var (
		seq     int64
		head    []byte
		tns     *int64
		toff    int32
		sig     []byte
		convErr error
	)
	_, err = pgx.ForEachRow(rows, []any{&seq, &head, &tns, &toff, &sig}, func() error {
		h, err := toHash(head, fmt.Sprintf("seal %d", seq))
		if err != nil {
			convErr = err
			return err
		}
		out = append(out, &trace.Seal{Seq: uint64(seq), Head: h, Time: colTime(tns, toff), Signature: sig})
		return nil
	})
	if convErr != nil {
		return nil, convErr
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: seals: %w", err)
	}
	return out, nil
}

// Cut removes every record with Seq <= cp.Seq and the seals of those
// records, and stores cp in their place, in one transaction that holds the
// head lock. Record cp.Seq must be in the log with hash cp.Head (else
// trace.ErrSealMismatch).
func (s *Store) Cut(ctx context.Context, cp *trace.Checkpoint) error {
	if s.isClosed() {
		return trace.ErrClosed
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: cut: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT 1 FROM "+s.q("head")+" WHERE one FOR UPDATE"); err != nil {
		return fmt.Errorf("pgstore: cut: lock the head: %w", err)
	}
	if err := s.matchRecord(ctx, tx, "checkpoint", cp.Seq, cp.Head); err != nil {
		return err
	}
	bns, boff := timeCols(cp.Before)
	tns, toff := timeCols(cp.Time)
	b := &pgx.Batch{}
	seq := int64(cp.Seq)
	b.Queue("DELETE FROM "+s.q("addresses")+" WHERE seq <= $1", seq)
	b.Queue("DELETE FROM "+s.q("generated")+" WHERE seq <= $1", seq)
	b.Queue("DELETE FROM "+s.q("records")+" WHERE seq <= $1", seq)
	b.Queue("DELETE FROM "+s.q("seals")+" WHERE seq <= $1", seq)
	b.Queue(`INSERT INTO `+s.q("checkpoint")+` (one, seq, head, before_ns, before_off, time_ns, time_off, signature)
		VALUES (true, $1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (one) DO UPDATE SET seq = excluded.seq, head = excluded.head, before_ns = excluded.before_ns,
			before_off = excluded.before_off, time_ns = excluded.time_ns, time_off = excluded.time_off,
			signature = excluded.signature`,
		seq, cp.Head[:], bns, boff, tns, toff, nonNil(cp.Signature))
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("pgstore: cut at %d: %w", cp.Seq, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: cut at %d: commit: %w", cp.Seq, err)
	}
	s.log.Info("pgstore: cut", "schema", s.schema, "through", cp.Seq)
	return nil
}

// Checkpoint returns the checkpoint of the last Cut, or nil.
func (s *Store) Checkpoint(ctx context.Context) (*trace.Checkpoint, error) {
	if s.isClosed() {
		return nil, trace.ErrClosed
	}
	var (
		seq        int64
		head, sig  []byte
		bns, tns   *int64
		boff, toff int32
	)
	err := s.pool.QueryRow(ctx, "SELECT seq, head, before_ns, before_off, time_ns, time_off, signature FROM "+
		s.q("checkpoint")+" WHERE one").Scan(&seq, &head, &bns, &boff, &tns, &toff, &sig)
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: checkpoint: %w", err)
	}
	h, err := toHash(head, "checkpoint")
	if err != nil {
		return nil, err
	}
	return &trace.Checkpoint{Seq: uint64(seq), Head: h, Before: colTime(bns, boff), Time: colTime(tns, toff), Signature: sig}, nil
}

// timeCols splits t into the columns that keep it exactly: nanoseconds
// since 1970 (NULL for the zero time) and the zone offset in seconds.
func timeCols(t time.Time) (*int64, int32) {
	if t.IsZero() {
		return nil, 0
	}
	ns := t.UnixNano()
	_, off := t.Zone()
	return &ns, int32(off)
}

// colTime rebuilds what timeCols split, in a fixed zone of the same
// offset (named CET or CEST for Rome's, as trace.Record decodes them).
func colTime(ns *int64, off int32) time.Time {
	if ns == nil {
		return time.Time{}
	}
	return time.Unix(0, *ns).In(trace.OffsetZone(int(off)))
}

// nonNil turns a nil slice into an empty one, for NOT NULL bytea columns.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
