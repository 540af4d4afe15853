package filestore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/tracetest"
)

// BenchmarkRawFsync is the naive floor of durable appends: write 200
// bytes at the end of a file and fsync it, in a loop, on the disk of the
// temporary directory the store benchmarks use.
func BenchmarkRawFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "raw"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 200)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fsync/s")
}

// BenchmarkRawFdatasync is the floor of the store's own durable write:
// the next 200 bytes (or 22,000, the size of a commit of about 34
// records) written in a file filled with zeros and fsync'd beforehand,
// then fdatasync'd, in a loop; through the page cache, and the store's way
// (see direct), with direct I/O where the file system allows it.
func BenchmarkRawFdatasync(b *testing.B) {
	for _, mode := range []string{"pagecache", "store"} {
		for _, size := range []int{200, 22000} {
			b.Run(fmt.Sprintf("%s/bytes=%d", mode, size), func(b *testing.B) {
				w := newOwnWriter(b, b.TempDir(), mode == "pagecache")
				defer w.close()
				buf := make([]byte, size)
				b.SetBytes(int64(len(buf)))
				b.ResetTimer()
				for b.Loop() {
					w.write(b, buf)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fdatasync/s")
			})
		}
	}
}

const zeroFileSize = 8 << 20

// ownWriter writes durably at the end of what it wrote before, in a file
// of zeroFileSize zeros (from its start again once at its end), as the
// store writes a commit: with direct I/O where it can (unless pageCache),
// then fdatasync.
type ownWriter struct {
	sg  *segment
	dio direct
	off int64
}

func newOwnWriter(b *testing.B, dir string, pageCache bool) *ownWriter {
	f, err := os.CreateTemp(dir, "zeros")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.Write(make([]byte, zeroFileSize)); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	return &ownWriter{sg: &segment{path: f.Name(), f: f, rw: true}, dio: direct{disabled: pageCache}}
}

func (w *ownWriter) write(b *testing.B, buf []byte) {
	if w.off+int64(len(buf)) > zeroFileSize {
		w.off = 0
	}
	ok, err := w.dio.write(w.sg, w.off, []chunk{{w.sg, w.off, buf}})
	if err == nil && !ok {
		_, err = w.sg.f.WriteAt(buf, w.off)
	}
	if err == nil {
		err = datasync(w.sg.f)
	}
	if err != nil {
		b.Fatal(err)
	}
	w.off += int64(len(buf))
}

func (w *ownWriter) close() {
	w.dio.close()
	w.sg.f.Close()
	os.Remove(w.sg.path)
}

// floors measures, in dir, the two floors of a durable append: 200 bytes
// appended and fsync'd (fsync/s), and 200 bytes written the store's own
// way, in a file of zeros, and fdatasync'd (fdatasync/s). The two loops
// alternate, 100 calls at a time, 500 calls each, so that a change in the
// rate of this shared disk weighs on both alike.
func floors(b *testing.B, dir string, opts *Options) (fsyncRate, ownRate float64) {
	app, err := os.Create(filepath.Join(dir, "calibrate"))
	if err != nil {
		b.Fatal(err)
	}
	defer os.Remove(app.Name())
	defer app.Close()
	own := newOwnWriter(b, dir, opts != nil && opts.NoDirectIO)
	defer own.close()
	buf := make([]byte, 200)
	var tApp, tOwn time.Duration
	const rounds, each = 5, 100
	for range rounds {
		start := time.Now()
		for range each {
			if _, err := app.Write(buf); err != nil {
				b.Fatal(err)
			}
			if err := app.Sync(); err != nil {
				b.Fatal(err)
			}
		}
		tApp += time.Since(start)
		start = time.Now()
		for range each {
			own.write(b, buf)
		}
		tOwn += time.Since(start)
	}
	n := float64(rounds * each)
	return n / tApp.Seconds(), n / tOwn.Seconds()
}

// BenchmarkAppend: durable appends of one record each from 1, 8 and 64
// concurrent writers. appends/s is the figure; x-fdatasync divides it by
// the store's own floor (200 bytes written its way and fdatasync'd, see
// floors), and x-fsync by the naive floor (one 200-byte append and fsync),
// each measured on the same disk just before the appends and again just
// after them (the store closed), and averaged; appends/commit says how many
// appends shared one write and fdatasync, and cpu-µs/append how much
// processor time (user and system, of the whole process) each one cost.
func BenchmarkAppend(b *testing.B) {
	cases := []struct {
		name    string
		writers int
		opts    *Options
	}{
		{"writers=1", 1, nil},
		{"writers=8", 8, nil},
		{"writers=64", 64, nil},
		{"writers=64/zerofill=off", 64, &Options{ZeroFill: -1}},  // segments grow with each commit
		{"writers=64/pagecache", 64, &Options{NoDirectIO: true}}, // no direct I/O
	}
	for _, c := range cases {
		writers := c.writers
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			fsync0, fdatasync0 := floors(b, dir, c.opts)
			st, err := Open(context.Background(), dir, c.opts)
			if err != nil {
				b.Fatal(err)
			}
			recs := make([]*trace.Record, writers)
			for i := range recs {
				recs[i] = tracetest.NewRecord(i)
			}
			commits0 := st.commits.Load()
			cpu0 := cpuTime()
			b.ResetTimer()
			var wg sync.WaitGroup
			per := b.N / writers
			extra := b.N % writers
			for w := range writers {
				n := per
				if w < extra {
					n++
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range n {
						if err := st.Append(context.Background(), recs[w]); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			cpu := cpuTime() - cpu0
			commits := st.commits.Load() - commits0
			if err := st.Close(); err != nil { // the spare segment stops being made
				b.Fatal(err)
			}
			fsync1, fdatasync1 := floors(b, dir, c.opts)
			rawFsync, rawFdatasync := (fsync0+fsync1)/2, (fdatasync0+fdatasync1)/2
			rate := float64(b.N) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "appends/s")
			b.ReportMetric(rawFdatasync, "fdatasync/s")
			b.ReportMetric(rate/rawFdatasync, "x-fdatasync")
			b.ReportMetric(rawFsync, "fsync/s")
			b.ReportMetric(rate/rawFsync, "x-fsync")
			if cpu > 0 {
				b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/append")
			}
			if commits > 0 {
				b.ReportMetric(float64(b.N)/float64(commits), "appends/commit")
			}
		})
	}
}

// bigLog is a store of a million records, built once per benchmark run.
var bigLog struct {
	once sync.Once
	dir  string
	err  error
	took time.Duration
}

const bigLogSize = 1_000_000

func bigLogDir(b *testing.B) string {
	bigLog.once.Do(func() {
		dir, err := os.MkdirTemp("", "filestore-bench-")
		if err != nil {
			bigLog.err = err
			return
		}
		bigLog.dir = dir
		start := time.Now()
		st, err := Open(context.Background(), dir, nil)
		if err != nil {
			bigLog.err = err
			return
		}
		const batch = 10_000
		for i := 0; i < bigLogSize; i += batch {
			if err := st.Append(context.Background(), tracetest.NewRecords(i, batch)...); err != nil {
				bigLog.err = err
				return
			}
		}
		bigLog.err = st.Close()
		bigLog.took = time.Since(start)
	})
	if bigLog.err != nil {
		b.Fatal(bigLog.err)
	}
	return bigLog.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bigLog.dir != "" {
		os.RemoveAll(bigLog.dir)
	}
	os.Exit(code)
}

// BenchmarkOpen1M: opening a store of a million records, which reads every
// segment and rebuilds the indexes; heap-MB is the memory the open store
// holds.
func BenchmarkOpen1M(b *testing.B) {
	dir := bigLogDir(b)
	var heap uint64
	for b.Loop() {
		st, err := Open(context.Background(), dir, &Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = ms.HeapAlloc
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
	b.ReportMetric(bigLog.took.Seconds(), "build-s")
}

// BenchmarkQuery1M: Query, Reissue and Get on a log of a million records.
func BenchmarkQuery1M(b *testing.B) {
	dir := bigLogDir(b)
	st, err := Open(context.Background(), dir, &Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	// Values from all over the log.
	pick := func(i int) *trace.Record { return tracetest.NewRecord((i * 7919) % bigLogSize) }
	withClientID := func(i int) *trace.Record {
		for {
			if r := pick(i); r.ClientMsgID != "" {
				return r
			}
			i++
		}
	}
	window := func(i int) (time.Time, time.Time) { // an hour (97 records) inside the log
		t := tracetest.NewRecord((i * 7919) % (bigLogSize - 200)).Time
		return t, t.Add(time.Hour)
	}
	cases := []struct {
		name string
		q    func(i int) trace.Query
		min  int
	}{
		{"MsgID", func(i int) trace.Query { return trace.Query{MsgID: pick(i).MsgID} }, 5},
		{"ClientMsgID", func(i int) trace.Query { return trace.Query{ClientMsgID: withClientID(i).ClientMsgID} }, 5},
		{"Address/Limit=100", func(i int) trace.Query { return trace.Query{Address: pick(i).Sender, Limit: 100} }, 100},
		{"Address+1h", func(i int) trace.Query {
			s, u := window(i)
			return trace.Query{Address: pick(i).Recipients[0].Address, Since: s, Until: u}
		}, 1},
		{"Time1h", func(i int) trace.Query { s, u := window(i); return trace.Query{Since: s, Until: u} }, 90},
		{"Time1h/Limit=10", func(i int) trace.Query { s, u := window(i); return trace.Query{Since: s, Until: u, Limit: 10} }, 10},
		{"Address/All", func(i int) trace.Query { return trace.Query{Address: pick(i).Sender} }, 100000},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				got, err := st.Query(context.Background(), c.q(i))
				if err != nil {
					b.Fatal(err)
				}
				if len(got) < c.min {
					b.Fatalf("Query %+v: %d records, want at least %d", c.q(i), len(got), c.min)
				}
			}
		})
	}
	b.Run("Reissue", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			r := pick(i)
			if len(r.Message) == 0 {
				r = pick(i + 1)
			}
			if _, err := st.Reissue(context.Background(), r.Generated[0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Get", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			if _, err := st.Get(context.Background(), uint64(1+(i*7919)%bigLogSize)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkKeys: the index keys of a record, which each Append computes
// outside the writer lock.
func BenchmarkKeys(b *testing.B) {
	recs := tracetest.NewRecords(0, 64)
	var ix indexes
	ix.init()
	var k keys
	i := 0
	for b.Loop() {
		ix.keysInto(&k, recs[i%len(recs)])
		i++
	}
}

// BenchmarkEncode: a record encoded, outside the writer lock, and chained
// (one SHA-256), under it.
func BenchmarkEncode(b *testing.B) {
	recs := tracetest.NewRecords(0, 64)
	i := 0
	for b.Loop() {
		e := recs[i%len(recs)].Encode(frameHeader)
		e.Chain(uint64(i+1), trace.Hash{})
		i++
	}
}
