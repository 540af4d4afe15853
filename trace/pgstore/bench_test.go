package pgstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/pgstore"
	"github.com/pecsdk/pec/trace/pgstore/pgtest"
	"github.com/pecsdk/pec/trace/tracetest"
)

// BenchmarkAppend measures committed appends per second, one record per
// Append, with 1, 8 and 64 concurrent writers sharing one Store (their
// appends share commits), and with the writers split between two Stores
// on one database, as two server instances (their transactions take the
// head lock in turn). Compare with BenchmarkFloorCommit and
// BenchmarkFloorFsync.
func BenchmarkAppend(b *testing.B) {
	for _, instances := range []int{1, 2} {
		for _, writers := range []int{1, 8, 64} {
			if instances > writers {
				continue
			}
			b.Run(fmt.Sprintf("instances=%d/writers=%d", instances, writers), func(b *testing.B) {
				db := pgtest.DB(b)
				commits := &commitCounter{}
				stores := make([]*pgstore.Store, instances)
				for i := range stores {
					stores[i] = open(b, db, &pgstore.Options{Logger: slog.New(commits)})
				}
				recs := tracetest.NewRecords(0, b.N)
				b.ReportAllocs()
				b.ResetTimer()
				var wg sync.WaitGroup
				errs := make(chan error, writers)
				for w := range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						st := stores[w%instances]
						for i := w; i < b.N; i += writers {
							if err := st.Append(context.Background(), recs[i]); err != nil {
								errs <- err
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
				b.ReportMetric(float64(b.N)/float64(commits.n.Load()), "appends/commit")
			})
		}
	}
}

// commitCounter counts the store's commits, from its debug log.
type commitCounter struct{ n atomic.Int64 }

func (c *commitCounter) Enabled(_ context.Context, l slog.Level) bool { return true }
func (c *commitCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "pgstore: committed" {
		c.n.Add(1)
	}
	return nil
}
func (c *commitCounter) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *commitCounter) WithGroup(string) slog.Handler      { return c }

// BenchmarkFloorCommit is the server's raw durable transaction rate: one
// single-row INSERT committed at a time (one WAL flush each), the floor of
// BenchmarkAppend with one writer.
func BenchmarkFloorCommit(b *testing.B) {
	db := pgtest.DB(b)
	c, err := pgx.Connect(ctx(b), db)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx(b), "CREATE TABLE floor (n bigint PRIMARY KEY, b bytea)"); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 512)
	n := int64(0)
	for b.Loop() {
		n++
		if _, err := c.Exec(context.Background(), "INSERT INTO floor VALUES ($1, $2)", n, payload); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}

// BenchmarkFloorFsync is the raw fsync rate of the disk the private
// server's data lives on (the temporary folder): a 4 KiB write and fsync.
func BenchmarkFloorFsync(b *testing.B) {
	if os.Getenv(pgtest.EnvURL) != "" {
		b.Skip("the server of " + pgtest.EnvURL + " may be on another disk")
	}
	f, err := os.CreateTemp("", "fsync-floor-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	block := make([]byte, 4096)
	for b.Loop() {
		if _, err := f.Write(block); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fsyncs/s")
}

// queryLogSize is the size of the log BenchmarkQuery runs on.
const queryLogSize = 100_000

// BenchmarkQuery measures Get, Query and Reissue on a log of 100 000
// records (20 000 messages, each address in one record of five).
func BenchmarkQuery(b *testing.B) {
	st := open(b, pgtest.DB(b), nil)
	start := time.Now()
	const batch = 2000
	for i := 0; i < queryLogSize; i += batch {
		if err := st.Append(ctx(b), tracetest.NewRecords(i, batch)...); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("log of %d records appended in %v", queryLogSize, time.Since(start).Round(time.Millisecond))
	mid := tracetest.NewRecord(queryLogSize / 2)
	late := tracetest.NewRecord(queryLogSize - 7)
	reissued := tracetest.NewRecord(queryLogSize/2 + 3)
	for _, tc := range []struct {
		name string
		q    trace.Query
		want int // records the query must return
	}{
		{"MsgID", trace.Query{MsgID: mid.MsgID}, 5},
		{"ClientMsgID", trace.Query{ClientMsgID: late.ClientMsgID}, 5},
		{"Address/limit=100", trace.Query{Address: "dest3@pec.destinatario.it", Limit: 100}, 100},
		{"Address/hour", trace.Query{Address: "dest3@pec.destinatario.it", Since: mid.Time, Until: mid.Time.Add(time.Hour)}, 20},
		{"Time/hour", trace.Query{Since: mid.Time, Until: mid.Time.Add(time.Hour)}, 98},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				got, err := st.Query(context.Background(), tc.q)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != tc.want {
					b.Fatalf("%d records, want %d", len(got), tc.want)
				}
			}
		})
	}
	b.Run("Scan", func(b *testing.B) {
		for b.Loop() {
			n := 0
			if err := st.Scan(context.Background(), 0, func(*trace.Record) error { n++; return nil }); err != nil {
				b.Fatal(err)
			}
			if n != queryLogSize {
				b.Fatalf("Scan gave %d records", n)
			}
		}
		b.ReportMetric(float64(queryLogSize)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("Verify", func(b *testing.B) {
		for b.Loop() {
			rep, err := trace.Verify(context.Background(), st, nil)
			if err != nil || !rep.OK() || rep.Records != queryLogSize {
				b.Fatalf("Verify: %v, %v", err, rep.Err())
			}
		}
		b.ReportMetric(float64(queryLogSize)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("Get", func(b *testing.B) {
		i := uint64(0)
		for b.Loop() {
			i++
			if _, err := st.Get(context.Background(), 1+i*7919%queryLogSize); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Reissue", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.Reissue(context.Background(), reissued.Generated[0]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
