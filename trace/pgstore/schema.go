package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// format is the value of meta.format that marks a schema as this store's.
const format = "pec-trace"

// tables are the store's tables, in the order a migration creates them.
var tables = []string{"meta", "head", "records", "addresses", "generated", "seals", "checkpoint"}

// migrations are applied in order; meta.version counts those applied.
// Each is idempotent (IF NOT EXISTS), so that a migration interrupted
// before its version was recorded can run again. {S} is the quoted schema.
var migrations = []string{
	`CREATE TABLE IF NOT EXISTS {S}.meta (
		key   text PRIMARY KEY,
		value text NOT NULL
	);
	CREATE TABLE IF NOT EXISTS {S}.head (
		one  boolean PRIMARY KEY DEFAULT true CHECK (one),
		seq  bigint NOT NULL,
		hash bytea NOT NULL
	);
	INSERT INTO {S}.head (one, seq, hash) VALUES (true, 0, '\x0000000000000000000000000000000000000000000000000000000000000000')
		ON CONFLICT DO NOTHING;
	CREATE TABLE IF NOT EXISTS {S}.records (
		seq          bigint PRIMARY KEY,
		at           timestamptz NOT NULL,
		time_ns      bigint NOT NULL,
		event        text NOT NULL,
		msgid        text NOT NULL,
		client_msgid text NOT NULL,
		hash         bytea NOT NULL,
		data         bytea NOT NULL
	);
	CREATE INDEX IF NOT EXISTS records_msgid ON {S}.records (msgid, seq) WHERE msgid <> '';
	CREATE INDEX IF NOT EXISTS records_client_msgid ON {S}.records (client_msgid, seq) WHERE client_msgid <> '';
	CREATE INDEX IF NOT EXISTS records_time ON {S}.records (time_ns, seq);
	CREATE TABLE IF NOT EXISTS {S}.addresses (
		addr text NOT NULL,
		seq  bigint NOT NULL,
		PRIMARY KEY (addr, seq)
	);
	CREATE INDEX IF NOT EXISTS addresses_seq ON {S}.addresses (seq);
	CREATE TABLE IF NOT EXISTS {S}.generated (
		msgid text NOT NULL,
		seq   bigint NOT NULL,
		PRIMARY KEY (msgid, seq)
	);
	CREATE INDEX IF NOT EXISTS generated_seq ON {S}.generated (seq);
	CREATE TABLE IF NOT EXISTS {S}.seals (
		id        bigserial PRIMARY KEY,
		seq       bigint NOT NULL,
		head      bytea NOT NULL,
		time_ns   bigint,
		time_off  integer NOT NULL,
		signature bytea NOT NULL
	);
	CREATE INDEX IF NOT EXISTS seals_seq ON {S}.seals (seq, id);
	CREATE TABLE IF NOT EXISTS {S}.checkpoint (
		one        boolean PRIMARY KEY DEFAULT true CHECK (one),
		seq        bigint NOT NULL,
		head       bytea NOT NULL,
		before_ns  bigint,
		before_off integer NOT NULL,
		time_ns    bigint,
		time_off   integer NOT NULL,
		signature  bytea NOT NULL
	);`,
}

// migrate makes the schema current, under a transaction-scoped advisory
// lock so that instances opening the store at once do not race.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", "pec-trace-pgstore:"+s.schema); err != nil {
		return err
	}
	// pg_class, not information_schema: it lists relations whatever the
	// privileges on them, and views as well as tables.
	rows, err := tx.Query(ctx, `SELECT c.relname::text FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`, s.schema)
	if err != nil {
		return err
	}
	existing, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, t := range existing {
		have[t] = true
	}
	version := 0
	if have["meta"] {
		if version, err = s.readMeta(ctx, tx); err != nil {
			return err
		}
	} else {
		for _, t := range tables {
			if have[t] {
				return fmt.Errorf("pgstore: schema %q has a table %q but no meta table: %w", s.schema, t, ErrNotStore)
			}
		}
	}
	if version > len(migrations) {
		return fmt.Errorf("pgstore: schema %q is at version %d, this package knows up to %d: %w",
			s.schema, version, len(migrations), ErrVersion)
	}
	if version == len(migrations) {
		return s.checkTables(ctx, tx)
	}
	if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+s.q("")); err != nil {
		return fmt.Errorf("pgstore: create schema %q: %w", s.schema, err)
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.Exec(ctx, strings.ReplaceAll(migrations[i], "{S}", s.q(""))); err != nil {
			return fmt.Errorf("pgstore: schema %q, migration %d: %w", s.schema, i+1, err)
		}
	}
	if _, err := tx.Exec(ctx, "INSERT INTO "+s.q("meta")+` (key, value) VALUES ('format', $1), ('version', $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, format, strconv.Itoa(len(migrations))); err != nil {
		return fmt.Errorf("pgstore: schema %q: %w", s.schema, err)
	}
	if err := s.checkTables(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	s.log.Info("pgstore: schema migrated", "schema", s.schema, "from", version, "to", len(migrations))
	return nil
}

// readMeta reads the format and version of an existing meta table,
// refusing one that is not this store's.
func (s *Store) readMeta(ctx context.Context, tx pgx.Tx) (int, error) {
	rows, err := tx.Query(ctx, "SELECT key, value FROM "+s.q("meta"))
	if err != nil {
		return 0, fmt.Errorf("pgstore: schema %q: its meta table is not this store's (%v): %w", s.schema, err, ErrNotStore)
	}
	meta := map[string]string{}
	var k, v string
	_, err = pgx.ForEachRow(rows, []any{&k, &v}, func() error { meta[k] = v; return nil })
	if err != nil {
		return 0, fmt.Errorf("pgstore: schema %q: its meta table is not this store's (%v): %w", s.schema, err, ErrNotStore)
	}
	if meta["format"] != format {
		return 0, fmt.Errorf("pgstore: schema %q: meta format is %q, not %q: %w", s.schema, meta["format"], format, ErrNotStore)
	}
	version, err := strconv.Atoi(meta["version"])
	if err != nil || version < 0 {
		return 0, fmt.Errorf("pgstore: schema %q: meta version %q is not a number: %w", s.schema, meta["version"], ErrNotStore)
	}
	return version, nil
}

// checkTables reads one row of every table with the columns the store
// uses, so that a table altered or replaced behind the store's back is
// found at Open rather than at the first Append.
func (s *Store) checkTables(ctx context.Context, tx pgx.Tx) error {
	probes := []string{
		"SELECT seq, hash FROM " + s.q("head") + " WHERE one",
		"SELECT seq, at, time_ns, event, msgid, client_msgid, hash, data FROM " + s.q("records") + " LIMIT 0",
		"SELECT addr, seq FROM " + s.q("addresses") + " LIMIT 0",
		"SELECT msgid, seq FROM " + s.q("generated") + " LIMIT 0",
		"SELECT id, seq, head, time_ns, time_off, signature FROM " + s.q("seals") + " LIMIT 0",
		"SELECT seq, head, before_ns, before_off, time_ns, time_off, signature FROM " + s.q("checkpoint") + " LIMIT 0",
	}
	for _, p := range probes {
		if _, err := tx.Exec(ctx, p); err != nil {
			return fmt.Errorf("pgstore: schema %q: tables are not this store's (%v): %w", s.schema, err, ErrNotStore)
		}
	}
	var n int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+s.q("head")).Scan(&n); err != nil || n != 1 {
		if err == nil {
			err = errors.New("no head row")
		}
		return fmt.Errorf("pgstore: schema %q: head table holds %d rows (%v): %w", s.schema, n, err, ErrNotStore)
	}
	return nil
}

// q returns the quoted name of table in the store's schema, or the quoted
// schema itself when table is "".
func (s *Store) q(table string) string {
	if table == "" {
		return pgx.Identifier{s.schema}.Sanitize()
	}
	return pgx.Identifier{s.schema, table}.Sanitize()
}
