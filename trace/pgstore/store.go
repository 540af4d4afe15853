package pgstore

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pecsdk/pec/trace"
)

// DefaultSchema is the schema the store's tables live in when
// Options.Schema is empty.
const DefaultSchema = "pec_trace"

// Options configures Open. The zero value (or nil) is the default.
type Options struct {
	// Schema is the PostgreSQL schema of the store's tables, created when
	// missing; DefaultSchema when empty. Several stores can share one
	// database under different schemas.
	Schema string

	// MaxRecordSize bounds one record's encoding, in bytes;
	// trace.DefaultMaxRecordSize when zero.
	MaxRecordSize int

	// MaxConns bounds the connection pool; pgxpool's default (the larger
	// of 4 and the number of CPUs) when zero, unless the URL sets
	// pool_max_conns.
	MaxConns int32

	// CommitTimeout bounds one append transaction once it has started
	// (a caller whose context ends earlier still waits for the outcome of
	// a transaction holding its records); one minute when zero.
	CommitTimeout time.Duration

	// MaxBatch bounds how many records one group commit takes; 1024 when
	// zero. A single Append call is never split.
	MaxBatch int

	// Logger receives schema migrations and commit failures; nil is
	// silent.
	Logger *slog.Logger
}

// Store is a trace.Store in a PostgreSQL database. It is safe for
// concurrent use, and any number of Stores, in any number of processes,
// may share one database and schema.
type Store struct {
	pool    *pgxpool.Pool
	schema  string
	maxSize int
	timeout time.Duration
	batch   int
	log     *slog.Logger

	mu     sync.Mutex
	queue  []*appendReq
	closed bool
	wake   chan struct{}
	stop   chan struct{}
	loop   chan struct{} // closed when the committer has returned
}

var _ trace.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string, as pgx takes), creates or migrates the store's
// schema, and returns the store. A schema whose tables are not this
// store's gives an error matching ErrNotStore.
func Open(ctx context.Context, url string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Schema == "" {
		o.Schema = DefaultSchema
	}
	if len(o.Schema) > 63 {
		return nil, fmt.Errorf("pgstore: schema name %q longer than 63 bytes", o.Schema)
	}
	if o.MaxRecordSize <= 0 {
		o.MaxRecordSize = trace.DefaultMaxRecordSize
	}
	if o.CommitTimeout <= 0 {
		o.CommitTimeout = time.Minute
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1024
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	cfg.AfterConnect = durable
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	s := &Store{
		pool:    pool,
		schema:  o.Schema,
		maxSize: o.MaxRecordSize,
		timeout: o.CommitTimeout,
		batch:   o.MaxBatch,
		log:     o.Logger,
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		loop:    make(chan struct{}),
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	var fsync string
	if err := pool.QueryRow(ctx, "SELECT current_setting('fsync')").Scan(&fsync); err == nil && fsync != "on" {
		s.log.Warn("pgstore: the server runs with fsync off: appends are not durable across a crash", "schema", s.schema)
	}
	go s.commitLoop()
	return s, nil
}

// durable switches synchronous_commit back on in a session where the
// server's configuration turned it off: an Append that returned must be
// on disk.
func durable(ctx context.Context, c *pgx.Conn) error {
	var sc string
	if err := c.QueryRow(ctx, "SELECT current_setting('synchronous_commit')").Scan(&sc); err != nil {
		return err
	}
	if sc == "off" {
		_, err := c.Exec(ctx, "SET synchronous_commit TO on")
		return err
	}
	return nil
}

// Close waits for the appends under way and closes the connections.
// Appends that returned are already committed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.loop
	s.pool.Close()
	return nil
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Head returns the Seq and Hash of the last record (or of the checkpoint,
// when every record was cut).
func (s *Store) Head(ctx context.Context) (uint64, trace.Hash, error) {
	if s.isClosed() {
		return 0, trace.Hash{}, trace.ErrClosed
	}
	var seq int64
	var h []byte
	if err := s.pool.QueryRow(ctx, "SELECT seq, hash FROM "+s.q("head")+" WHERE one").Scan(&seq, &h); err != nil {
		return 0, trace.Hash{}, fmt.Errorf("pgstore: head: %w", err)
	}
	head, err := toHash(h, "head")
	return uint64(seq), head, err
}

// Get returns the record at seq, or an error matching trace.ErrNotFound.
func (s *Store) Get(ctx context.Context, seq uint64) (*trace.Record, error) {
	if s.isClosed() {
		return nil, trace.ErrClosed
	}
	if seq == 0 || seq > maxSeq {
		return nil, fmt.Errorf("pgstore: record %d: %w", seq, trace.ErrNotFound)
	}
	var data []byte
	err := s.pool.QueryRow(ctx, "SELECT data FROM "+s.q("records")+" WHERE seq = $1", int64(seq)).Scan(&data)
	if err == pgx.ErrNoRows {
		return nil, fmt.Errorf("pgstore: record %d: %w", seq, trace.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: record %d: %w", seq, err)
	}
	return decode(int64(seq), data)
}

// scanPage bounds how many records, and about how many bytes, Scan reads
// from the database at a time.
const (
	scanPage      = 256
	scanPageBytes = 16 << 20
)

// Scan calls fn for every record with Seq >= from, in Seq order. It reads
// the log a page at a time and holds no connection while fn runs, so fn
// may use the store.
func (s *Store) Scan(ctx context.Context, from uint64, fn func(*trace.Record) error) error {
	if s.isClosed() {
		return trace.ErrClosed
	}
	if from > maxSeq {
		return nil
	}
	// The window sum keeps a page near scanPageBytes without fetching the
	// rows it leaves out (their data stays TOASTed, unread).
	query := `SELECT seq, data FROM (
		SELECT seq, data, sum(octet_length(data)) OVER (ORDER BY seq) - octet_length(data) AS before
		FROM ` + s.q("records") + ` WHERE seq >= $1 ORDER BY seq LIMIT $2) p
		WHERE before < $3 ORDER BY seq`
	next := int64(from)
	for {
		rows, err := s.pool.Query(ctx, query, next, scanPage, scanPageBytes)
		if err != nil {
			return fmt.Errorf("pgstore: scan from %d: %w", next, err)
		}
		var page []*trace.Record
		var seq int64
		var data []byte
		var bad error // a record that does not decode ends the scan there
		_, err = pgx.ForEachRow(rows, []any{&seq, &data}, func() error {
			r, err := decode(seq, data)
			if err != nil {
				bad = err
				return err
			}
			page = append(page, r)
			next = seq + 1
			return nil
		})
		if err != nil && bad == nil {
			return fmt.Errorf("pgstore: scan from %d: %w", next, err)
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
		}
		if bad != nil {
			return bad
		}
		if len(page) == 0 {
			return nil
		}
	}
}

// maxSeq is the largest Seq a bigint column holds.
const maxSeq = 1<<63 - 1

// decode decodes the stored encoding of the record at seq.
func decode(seq int64, data []byte) (*trace.Record, error) {
	r := new(trace.Record)
	if err := r.UnmarshalBinary(data); err != nil {
		return nil, fmt.Errorf("pgstore: record %d: %w", seq, err)
	}
	return r, nil
}

// toHash converts a bytea hash column.
func toHash(b []byte, what string) (trace.Hash, error) {
	var h trace.Hash
	if len(b) != len(h) {
		return h, fmt.Errorf("pgstore: %s hash of %d bytes: %w", what, len(b), trace.ErrCorrupt)
	}
	copy(h[:], b)
	return h, nil
}
