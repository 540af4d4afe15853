package pgstore_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/pgstore"
	"github.com/pecsdk/pec/trace/pgstore/pgtest"
	"github.com/pecsdk/pec/trace/tracetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func open(t testing.TB, dbURL string, opts *pgstore.Options) *pgstore.Store {
	t.Helper()
	st, err := pgstore.Open(ctx(t), dbURL, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestConformance(t *testing.T) {
	tracetest.Run(t, func(t *testing.T) trace.Store { return open(t, pgtest.DB(t), nil) })
}

// TestDurable reopens the store on the same database: dir names it.
func TestDurable(t *testing.T) {
	dbs := map[string]string{}
	tracetest.RunDurable(t, func(t *testing.T, dir string) trace.Store {
		if dbs[dir] == "" {
			dbs[dir] = pgtest.DB(t)
		}
		st, err := pgstore.Open(ctx(t), dbs[dir], nil)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return st
	})
}

// TestTwoInstances appends from two stores with pools of their own, as two
// server instances sharing the database would, and checks that the chain
// did not fork: Seq contiguous, every Prev the hash before, trace.Verify
// satisfied.
func TestTwoInstances(t *testing.T) {
	db := pgtest.DB(t)
	a := open(t, db, &pgstore.Options{MaxConns: 4})
	b := open(t, db, &pgstore.Options{MaxConns: 4})
	const writers, each = 6, 30
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers+2)
	for i, st := range []*pgstore.Store{a, b, a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				n := 1 + j%3
				recs := tracetest.NewRecords((i*each+j)*3, n)
				if err := st.Append(ctx(t), recs...); err != nil {
					errs <- err
					return
				}
				for k := 1; k < n; k++ {
					if recs[k].Seq != recs[k-1].Seq+1 {
						errs <- fmt.Errorf("a batch was split: %d then %d", recs[k-1].Seq, recs[k].Seq)
						return
					}
				}
			}
		}()
	}
	// Each instance seals its view of the head meanwhile.
	stop := make(chan struct{})
	var sealers sync.WaitGroup
	sealed := make([]int, 2)
	for i, st := range []*pgstore.Store{a, b} {
		sealers.Add(1)
		go func() {
			defer sealers.Done()
			signer := tracetest.TestProvider(t).Signer
			for {
				select {
				case <-stop:
					return
				default:
				}
				s, err := trace.SealHead(ctx(t), st, signer, time.Now())
				if err != nil {
					errs <- fmt.Errorf("SealHead: %w", err)
					return
				}
				if s != nil {
					sealed[i]++
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	sealers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := 0
	for range writers {
		for j := range each {
			want += 1 + j%3
		}
	}
	for name, st := range map[string]*pgstore.Store{"a": a, "b": b} {
		var prev trace.Hash
		n := 0
		err := st.Scan(ctx(t), 0, func(r *trace.Record) error {
			n++
			if r.Seq != uint64(n) || r.Prev != prev || !r.Check() {
				return fmt.Errorf("the chain forks or has a gap at record %d (Seq %d)", n, r.Seq)
			}
			prev = r.Hash
			return nil
		})
		if err != nil {
			t.Fatalf("instance %s: %v", name, err)
		}
		if n != want {
			t.Fatalf("instance %s sees %d records, want %d", name, n, want)
		}
		seq, head, err := st.Head(ctx(t))
		if err != nil || seq != uint64(want) || head != prev {
			t.Fatalf("instance %s: Head = %d, %v", name, seq, err)
		}
	}
	rep := verifyOK(t, b)
	if rep.Records != uint64(want) || rep.Seals != sealed[0]+sealed[1] || rep.Seals == 0 {
		t.Fatalf("Verify walked %d records and %d seals, want %d and %d", rep.Records, rep.Seals, want, sealed[0]+sealed[1])
	}
}

// TestNotOurs opens schemas that hold tables of other software, or a
// store's tables altered: every one is refused with ErrNotStore, and
// nothing is created or changed in them.
func TestNotOurs(t *testing.T) {
	db := pgtest.DB(t)
	c, err := pgx.Connect(ctx(t), db)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx(t))
	for _, tc := range []struct {
		schema, sql string
	}{
		{"app1", "CREATE SCHEMA app1; CREATE TABLE app1.records (id serial PRIMARY KEY, body text)"},
		{"app2", "CREATE SCHEMA app2; CREATE TABLE app2.meta (k int, v int)"},
		{"app3", "CREATE SCHEMA app3; CREATE TABLE app3.meta (key text PRIMARY KEY, value text); INSERT INTO app3.meta VALUES ('format', 'wordpress')"},
		{"app4", "CREATE SCHEMA app4; CREATE TABLE app4.head (x int)"},
	} {
		t.Run(tc.schema, func(t *testing.T) {
			if _, err := c.Exec(ctx(t), tc.sql); err != nil {
				t.Fatal(err)
			}
			st, err := pgstore.Open(ctx(t), db, &pgstore.Options{Schema: tc.schema})
			if err == nil {
				st.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, pgstore.ErrNotStore) || !strings.Contains(err.Error(), tc.schema) {
				t.Fatalf("Open: %v, want ErrNotStore naming the schema", err)
			}
			var n int
			if err := c.QueryRow(ctx(t), "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1", tc.schema).Scan(&n); err != nil || n != 1 {
				t.Fatalf("the schema now has %d tables (%v), want its one table alone", n, err)
			}
		})
	}

	t.Run("altered", func(t *testing.T) {
		st := open(t, db, &pgstore.Options{Schema: "altered"})
		st.Close()
		if _, err := c.Exec(ctx(t), "ALTER TABLE altered.records DROP COLUMN data"); err != nil {
			t.Fatal(err)
		}
		if _, err := pgstore.Open(ctx(t), db, &pgstore.Options{Schema: "altered"}); !errors.Is(err, pgstore.ErrNotStore) {
			t.Fatalf("Open of a store whose records lost their data column: %v, want ErrNotStore", err)
		}
	})
	t.Run("newer", func(t *testing.T) {
		st := open(t, db, &pgstore.Options{Schema: "newer"})
		st.Close()
		if _, err := c.Exec(ctx(t), "UPDATE newer.meta SET value = '99' WHERE key = 'version'"); err != nil {
			t.Fatal(err)
		}
		if _, err := pgstore.Open(ctx(t), db, &pgstore.Options{Schema: "newer"}); !errors.Is(err, pgstore.ErrVersion) {
			t.Fatalf("Open of a schema of version 99: %v, want ErrVersion", err)
		}
	})
}

// TestSchemas keeps two stores apart in one database, and checks that
// opening an existing store again (from several instances at once) is
// harmless.
func TestSchemas(t *testing.T) {
	db := pgtest.DB(t)
	var wg sync.WaitGroup
	stores := make([]*pgstore.Store, 4)
	errs := make([]error, 4)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = pgstore.Open(ctx(t), db, &pgstore.Options{Schema: "Trace Log"})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	other := open(t, db, nil)
	if err := stores[0].Append(ctx(t), tracetest.NewRecords(0, 3)...); err != nil {
		t.Fatal(err)
	}
	if err := other.Append(ctx(t), tracetest.NewRecord(10)); err != nil {
		t.Fatal(err)
	}
	for i, st := range stores {
		if seq, _, err := st.Head(ctx(t)); err != nil || seq != 3 {
			t.Fatalf("store %d of schema \"Trace Log\": Head %d, %v; want 3", i, seq, err)
		}
	}
	if seq, _, err := other.Head(ctx(t)); err != nil || seq != 1 {
		t.Fatalf("store of the default schema: Head %d, %v; want 1", seq, err)
	}
}

// TestTooLarge refuses a record over a small configured limit, alone and
// in a batch, at the size of its encoding, and keeps the log as it was.
func TestTooLarge(t *testing.T) {
	st := open(t, pgtest.DB(t), &pgstore.Options{MaxRecordSize: 2048})
	ok := tracetest.NewRecords(0, 2)
	if err := st.Append(ctx(t), ok...); err != nil {
		t.Fatal(err)
	}
	big := tracetest.NewRecord(2)
	big.Message = []byte(strings.Repeat("x", 1900)) // the message fits, the record does not
	big.MessageHash = trace.Hash{}
	huge := tracetest.NewRecord(3)
	huge.Message = []byte(strings.Repeat("x", 4096))
	huge.MessageHash = trace.Hash{}
	for _, batch := range [][]*trace.Record{{big}, {huge}, {tracetest.NewRecord(4), big}} {
		err := st.Append(ctx(t), batch...)
		if !errors.Is(err, trace.ErrTooLarge) || !strings.Contains(err.Error(), "2048") {
			t.Fatalf("Append of a record over 2048 bytes: %v, want ErrTooLarge naming the limit", err)
		}
		if batch[0].Seq != 0 {
			t.Fatalf("a refused record was given Seq %d", batch[0].Seq)
		}
	}
	// Refused and accepted appends at once: only the refused fail.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := tracetest.NewRecord(10 + i)
			if i%2 == 1 {
				r = big.Clone()
			}
			errs[i] = st.Append(ctx(t), r)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (i%2 == 1) != errors.Is(err, trace.ErrTooLarge) || (i%2 == 0 && err != nil) {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	if seq, _, _ := st.Head(ctx(t)); seq != 6 {
		t.Fatalf("Head %d after 2 + 4 accepted records", seq)
	}
	verifyOK(t, st)
}

// TestTampered alters the database behind the store's back: the data of
// a record, its order, a record removed or duplicated, the tail cut, a
// seal. trace.Verify, walking what the store returns, names the record.
func TestTampered(t *testing.T) {
	for _, tc := range []struct {
		name, sql string
		at        uint64
		kind      trace.BreakKind
	}{
		{"flipped byte", "UPDATE pec_trace.records SET data = set_byte(data, 40, get_byte(data, 40) # 1) WHERE seq = 4", 4, trace.BreakAltered},
		{"removed", "DELETE FROM pec_trace.records WHERE seq = 5", 5, trace.BreakRemoved},
		{"swapped", "UPDATE pec_trace.records SET seq = -3 WHERE seq = 3; UPDATE pec_trace.records SET seq = 3 WHERE seq = 7; UPDATE pec_trace.records SET seq = 7 WHERE seq = -3", 3, trace.BreakReordered},
		{"duplicated", "INSERT INTO pec_trace.records SELECT 100, at, time_ns, event, msgid, client_msgid, hash, data FROM pec_trace.records WHERE seq = 9", 9, trace.BreakDuplicated},
		{"tail cut", "DELETE FROM pec_trace.records WHERE seq >= 8", 8, trace.BreakTruncated},
		{"seal moved", "UPDATE pec_trace.seals SET head = (SELECT hash FROM pec_trace.records WHERE seq = 5)", 9, trace.BreakSeal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := pgtest.DB(t)
			st := open(t, db, nil)
			if err := st.Append(ctx(t), tracetest.NewRecords(0, 9)...); err != nil {
				t.Fatal(err)
			}
			if _, err := trace.SealHead(ctx(t), st, tracetest.TestProvider(t).Signer, time.Now()); err != nil {
				t.Fatal(err)
			}
			verifyOK(t, st)
			c, err := pgx.Connect(ctx(t), db)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx(t))
			if _, err := c.Exec(ctx(t), tc.sql); err != nil {
				t.Fatal(err)
			}
			rep, err := trace.Verify(ctx(t), st, verifyOpts(t))
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() || rep.Break.Seq != tc.at || (tc.kind != "" && rep.Break.Kind != tc.kind) {
				t.Fatalf("Verify: %v; want a break at record %d (%s)", rep.Err(), tc.at, tc.kind)
			}
			t.Logf("Verify: %v", rep.Err())
		})
	}
	t.Run("message altered", func(t *testing.T) {
		db := pgtest.DB(t)
		st := open(t, db, nil)
		recs := tracetest.NewRecords(0, 6)
		if err := st.Append(ctx(t), recs...); err != nil {
			t.Fatal(err)
		}
		c, err := pgx.Connect(ctx(t), db)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx(t))
		// The inline message ends the encoding: alter its last byte.
		if _, err := c.Exec(ctx(t), "UPDATE pec_trace.records SET data = set_byte(data, octet_length(data) - 1, 0) WHERE seq = 4"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Reissue(ctx(t), recs[3].Generated[0]); !errors.Is(err, trace.ErrCorrupt) {
			t.Fatalf("Reissue of an altered message: %v, want ErrCorrupt", err)
		}
		if m, err := st.Reissue(ctx(t), recs[4].Generated[0]); err != nil || string(m) != string(recs[4].Message) {
			t.Fatalf("Reissue of the next message: %v", err)
		}
		rep, err := trace.Verify(ctx(t), st, verifyOpts(t))
		if err != nil || rep.OK() || rep.Break.Seq != 4 || rep.Break.Kind != trace.BreakAltered {
			t.Fatalf("Verify: %v, %v; want record 4 altered", rep.Err(), err)
		}
	})
	t.Run("corrupt encoding", func(t *testing.T) {
		db := pgtest.DB(t)
		st := open(t, db, nil)
		if err := st.Append(ctx(t), tracetest.NewRecords(0, 3)...); err != nil {
			t.Fatal(err)
		}
		c, err := pgx.Connect(ctx(t), db)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx(t))
		if _, err := c.Exec(ctx(t), "UPDATE pec_trace.records SET data = substring(data from 1 for 30) WHERE seq = 2"); err != nil {
			t.Fatal(err)
		}
		_, err = st.Get(ctx(t), 2)
		if !errors.Is(err, trace.ErrCorrupt) || !strings.Contains(err.Error(), "record 2") {
			t.Fatalf("Get of a truncated encoding: %v, want ErrCorrupt naming record 2", err)
		}
		if err := st.Scan(ctx(t), 0, func(*trace.Record) error { return nil }); !errors.Is(err, trace.ErrCorrupt) {
			t.Fatalf("Scan over a truncated encoding: %v, want ErrCorrupt", err)
		}
		rep, err := trace.Verify(ctx(t), st, verifyOpts(t))
		if err != nil || rep.OK() || rep.Break.Seq != 2 {
			t.Fatalf("Verify: %v, %v; want a break at record 2", rep.Err(), err)
		}
	})
}

// verifyOK fails the test unless trace.Verify finds the log whole, its
// seals signed by the test provider.
func verifyOK(t *testing.T, st trace.Store) *trace.Report {
	t.Helper()
	rep, err := trace.Verify(ctx(t), st, verifyOpts(t))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !rep.OK() {
		t.Fatalf("Verify: %v", rep.Err())
	}
	return rep
}

func verifyOpts(t testing.TB) *trace.VerifyOptions {
	p := tracetest.TestProvider(t)
	return &trace.VerifyOptions{
		Certificates:     []*x509.Certificate{p.Signer.Certificate()},
		SignatureOptions: &smime.VerifyOptions{Roots: p.PKI.Pool(), CurrentTime: time.Now()},
	}
}

// TestOpenBadURL gives clear errors for a URL that is not one, and for a
// server that is not there.
func TestOpenBadURL(t *testing.T) {
	if _, err := pgstore.Open(ctx(t), "postgres://%zz", nil); err == nil || !strings.HasPrefix(err.Error(), "pgstore: ") {
		t.Errorf("Open of a malformed URL: %v", err)
	}
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := url.URL{Scheme: "postgres", Host: "127.0.0.1:1", Path: "/x", RawQuery: "connect_timeout=2"}
	if _, err := pgstore.Open(c, u.String(), nil); err == nil {
		t.Error("Open of a server that is not there succeeded")
	}
}

// TestHeadRewound moves the head row back behind the store's back: the
// next Append, from any instance, finds its places taken and fails, and
// nothing is written, so the chain cannot fork.
func TestHeadRewound(t *testing.T) {
	db := pgtest.DB(t)
	st := open(t, db, nil)
	recs := tracetest.NewRecords(0, 6)
	if err := st.Append(ctx(t), recs...); err != nil {
		t.Fatal(err)
	}
	c, err := pgx.Connect(ctx(t), db)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx(t))
	if _, err := c.Exec(ctx(t), "UPDATE pec_trace.head SET seq = 3, hash = $1", recs[2].Hash[:]); err != nil {
		t.Fatal(err)
	}
	other := open(t, db, nil)
	for _, s := range []*pgstore.Store{st, other} {
		r := tracetest.NewRecord(6)
		if err := s.Append(ctx(t), r); err == nil || r.Seq != 0 {
			t.Fatalf("Append after the head was rewound: %v, Seq %d", err, r.Seq)
		}
	}
	var n int
	if err := c.QueryRow(ctx(t), "SELECT count(*) FROM pec_trace.records").Scan(&n); err != nil || n != 6 {
		t.Fatalf("%d records (%v), want the 6 appended", n, err)
	}
}
