package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pecsdk/pec/trace"
)

// appendReq is one Append call waiting for the committer.
type appendReq struct {
	recs  []*trace.Record
	done  chan error // receives the outcome once
	taken bool       // in a transaction: the caller must wait for done
}

// Append chains recs after the head and commits them in one transaction,
// together with the appends of other goroutines of this Store queued at
// the same time. It returns once they are committed. A record that fails
// Validate or is over the size limit (trace.ErrTooLarge) fails the call,
// and nothing of it is written; Seq, Prev, MessageHash and Hash are set
// only on success. When the connection fails with the COMMIT sent, Append
// asks the database whether the records are in: an error means they are
// not, unless it matches ErrUnknown (the database could not be asked).
func (s *Store) Append(ctx context.Context, recs ...*trace.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, r := range recs {
		if r == nil {
			return fmt.Errorf("pgstore: record %d of %d is nil: %w", i+1, len(recs), trace.ErrInvalid)
		}
		if err := r.Validate(); err != nil {
			return fmt.Errorf("pgstore: record %d of %d: %w", i+1, len(recs), err)
		}
		if len(r.Message) > s.maxSize {
			return fmt.Errorf("pgstore: record %d of %d: message of %d bytes, over the limit of %d: %w",
				i+1, len(recs), len(r.Message), s.maxSize, trace.ErrTooLarge)
		}
	}
	req := &appendReq{recs: recs, done: make(chan error, 1)}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return trace.ErrClosed
	}
	if len(recs) == 0 {
		s.mu.Unlock()
		return nil
	}
	s.queue = append(s.queue, req)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
	}
	s.mu.Lock()
	if !req.taken {
		for i, q := range s.queue {
			if q == req {
				s.queue = append(s.queue[:i], s.queue[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
		return ctx.Err()
	}
	s.mu.Unlock()
	// Already in a transaction: its outcome decides, and the records
	// must not be written to after Append returned.
	return <-req.done
}

// commitLoop commits what the queue holds, a batch per transaction, until
// the store is closed and the queue drained.
func (s *Store) commitLoop() {
	defer close(s.loop)
	for {
		select {
		case <-s.wake:
		case <-s.stop:
			for b := s.take(); len(b) > 0; b = s.take() {
				s.commit(b)
			}
			return
		}
		for b := s.take(); len(b) > 0; b = s.take() {
			s.commit(b)
		}
	}
}

// maxBatchBytes bounds the inline messages one group commit carries.
const maxBatchBytes = 64 << 20

// take removes the next batch from the queue: whole requests, up to
// MaxBatch records and about maxBatchBytes of messages (at least one
// request).
func (s *Store) take() []*appendReq {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, size, bytes := 0, 0, 0
	for n < len(s.queue) {
		q := s.queue[n]
		b := 0
		for _, r := range q.recs {
			b += len(r.Message)
		}
		if n > 0 && (size+len(q.recs) > s.batch || bytes+b > maxBatchBytes) {
			break
		}
		size, bytes = size+len(q.recs), bytes+b
		q.taken = true
		n++
	}
	b := append([]*appendReq(nil), s.queue[:n]...)
	s.queue = append(s.queue[:0], s.queue[n:]...)
	return b
}

// chained is a request's records as placed in the chain: copies, so that
// the caller's records change only once committed.
type chained struct {
	req  *appendReq
	recs []trace.Record
	data [][]byte
}

// commit runs one transaction for a batch and reports to every request.
func (s *Store) commit(batch []*appendReq) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	start := time.Now()
	ok, err := s.commitTx(ctx, batch)
	if err != nil {
		s.log.Error("pgstore: append failed", "schema", s.schema, "records", countRecs(batch), "err", err)
		for _, c := range ok {
			c.req.done <- err
		}
		return
	}
	// Logged before the callers are answered, so that what they do next
	// (a test counting commits, say) comes after it.
	s.log.Debug("pgstore: committed", "schema", s.schema, "requests", len(ok), "took", time.Since(start))
	for _, c := range ok {
		for i := range c.recs {
			r, w := c.req.recs[i], &c.recs[i]
			r.Seq, r.Prev, r.MessageHash, r.Hash = w.Seq, w.Prev, w.MessageHash, w.Hash
		}
		c.req.done <- nil
	}
}

func countRecs(b []*appendReq) int {
	n := 0
	for _, r := range b {
		n += len(r.recs)
	}
	return n
}

// commitTx locks the head, chains every request of batch that fits after
// it, inserts them and moves the head, in one transaction. A request with
// a record over the size limit is answered at once and left out. It
// returns the requests it placed, and the error of the transaction, which
// is theirs.
func (s *Store) commitTx(ctx context.Context, batch []*appendReq) ([]chained, error) {
	var placed []chained
	// Two round trips: BEGIN with the head lock, then the inserts with
	// COMMIT. A connection given back inside a transaction (after a
	// failure) is closed by the pool, which ends the transaction.
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return s.placeAll(batch), fmt.Errorf("pgstore: append: %w", err)
	}
	defer conn.Release()
	lock := &pgx.Batch{}
	lock.Queue("BEGIN")
	lock.Queue("SELECT seq, hash FROM " + s.q("head") + " WHERE one FOR UPDATE")
	var seq0 int64
	var h []byte
	br := conn.SendBatch(ctx, lock)
	_, err = br.Exec()
	if err == nil {
		err = br.QueryRow().Scan(&seq0, &h)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		rollback(conn.Conn())
		return s.placeAll(batch), fmt.Errorf("pgstore: append: lock the head: %w", err)
	}
	prev, err := toHash(h, "head")
	if err != nil {
		rollback(conn.Conn())
		return s.placeAll(batch), err
	}
	seq := uint64(seq0)

	var (
		seqs              []int64
		ats               []time.Time
		times             []int64
		events, ids, cids []string
		hashes, datas     [][]byte
		addrs, gens       []string
		addrSeqs, genSeqs []int64
	)
	for _, req := range batch {
		c := chained{req: req, recs: make([]trace.Record, len(req.recs)), data: make([][]byte, len(req.recs))}
		s1, p1 := seq, prev
		var tooBig error
		for i, r := range req.recs {
			w := &c.recs[i]
			*w = *r
			s1++
			w.Chain(s1, p1)
			p1 = w.Hash
			data, err := w.MarshalBinary()
			if err == nil && len(data) > s.maxSize {
				err = fmt.Errorf("pgstore: record %d of %d: %d bytes encoded, over the limit of %d: %w",
					i+1, len(req.recs), len(data), s.maxSize, trace.ErrTooLarge)
			}
			if err != nil {
				tooBig = err
				break
			}
			c.data[i] = data
		}
		if tooBig != nil {
			req.done <- tooBig
			continue
		}
		for i := range c.recs {
			w := &c.recs[i]
			sq := int64(w.Seq)
			seqs = append(seqs, sq)
			ats = append(ats, w.Time)
			times = append(times, w.Time.UnixNano())
			events = append(events, string(w.Event))
			ids = append(ids, idKey(w.MsgID))
			cids = append(cids, idKey(w.ClientMsgID))
			hashes = append(hashes, w.Hash[:])
			datas = append(datas, c.data[i])
			for _, a := range w.Addresses() {
				addrs, addrSeqs = append(addrs, a), append(addrSeqs, sq)
			}
			for _, g := range genKeys(w) {
				gens, genSeqs = append(gens, g), append(genSeqs, sq)
			}
		}
		seq, prev = s1, p1
		placed = append(placed, c)
	}
	if len(placed) == 0 {
		rollback(conn.Conn())
		return nil, nil
	}
	if seq > maxSeq {
		rollback(conn.Conn())
		return placed, fmt.Errorf("pgstore: append: the log is full (Seq %d): %w", seq, trace.ErrInvalid)
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO `+s.q("records")+` (seq, at, time_ns, event, msgid, client_msgid, hash, data)
		SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::bytea[])`,
		seqs, ats, times, events, ids, cids, hashes, datas)
	if len(addrs) > 0 {
		b.Queue(`INSERT INTO `+s.q("addresses")+` (addr, seq) SELECT * FROM unnest($1::text[], $2::bigint[])`, addrs, addrSeqs)
	}
	if len(gens) > 0 {
		b.Queue(`INSERT INTO `+s.q("generated")+` (msgid, seq) SELECT * FROM unnest($1::text[], $2::bigint[])`, gens, genSeqs)
	}
	b.Queue(`UPDATE `+s.q("head")+` SET seq = $1, hash = $2 WHERE one`, int64(seq), prev[:])
	b.Queue("COMMIT")
	br = conn.SendBatch(ctx, b)
	var tag pgconn.CommandTag
	for range b.Len() {
		if tag, err = br.Exec(); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil && tag.String() != "COMMIT" {
		err = fmt.Errorf("the transaction ended with %q", tag.String())
	}
	if err != nil {
		rollback(conn.Conn())
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Severity == "ERROR" {
			// The server refused a statement: the transaction is void.
			return placed, fmt.Errorf("pgstore: append: %w", err)
		}
		// The connection failed with the COMMIT sent, or maybe sent:
		// whether it took effect is for the log to say.
		last := &placed[len(placed)-1]
		ok, cerr := s.committed(&last.recs[len(last.recs)-1])
		switch {
		case cerr != nil:
			return placed, fmt.Errorf("pgstore: append: outcome unknown (%v), and not found out: %v: %w", err, cerr, ErrUnknown)
		case ok:
			s.log.Warn("pgstore: append committed despite a failed connection", "schema", s.schema, "err", err)
			return placed, nil
		}
		return placed, fmt.Errorf("pgstore: append: not committed: %w", err)
	}
	return placed, nil
}

// committed reports whether the last record of a transaction whose COMMIT
// got no answer is in the log. It takes the head lock in share mode first,
// so that it waits for that transaction if its session is still alive.
func (s *Store) committed(last *trace.Record) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT 1 FROM "+s.q("head")+" WHERE one FOR SHARE"); err != nil {
		return false, err
	}
	var h []byte
	err = tx.QueryRow(ctx, "SELECT hash FROM "+s.q("records")+" WHERE seq = $1", int64(last.Seq)).Scan(&h)
	if err == pgx.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return bytes.Equal(h, last.Hash[:]), nil
}

// rollback ends a failed transaction on c, if it is still in one.
func rollback(c *pgx.Conn) {
	if c.PgConn().TxStatus() == 'I' {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Exec(ctx, "ROLLBACK"); err != nil {
		c.Close(ctx)
	}
}

// placeAll wraps every request of batch, to report a common failure.
func (s *Store) placeAll(batch []*appendReq) []chained {
	out := make([]chained, len(batch))
	for i, r := range batch {
		out[i].req = r
	}
	return out
}

// idKey is the indexed form of a message identifier (PEC.md §9), and
// addrKey that of an address: the forms Query.Match compares.
func idKey(id string) string { return trace.NormalizeID(id) }

// genKeys returns the distinct keys of the Message-IDs r generated.
func genKeys(r *trace.Record) []string {
	var out []string
next:
	for _, g := range r.Generated {
		k := idKey(g)
		if k == "" {
			continue
		}
		for _, o := range out {
			if o == k {
				continue next
			}
		}
		out = append(out, k)
	}
	return out
}
