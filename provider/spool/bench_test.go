package spool_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pecsdk/pec/provider/spool"
)

// benchSize is the message of the benchmarks: a typical PEC message with
// a small attachment.
const benchSize = 10 << 10

// writers returns the parallelism that gives n goroutines to RunParallel.
func writers(n int) int { return max(1, n/runtime.GOMAXPROCS(0)) }

// BenchmarkFloor measures, on the disk of the temporary directory the
// spool benchmarks use, what one durable message costs at least: 10 KB
// appended to one file and fsync'd (the naive floor, a log), and 10 KB
// written to a new file, fsync'd, and the directory fsync'd (the floor
// of a file per message, which Put is), from 1 and 64 goroutines.
func BenchmarkFloor(b *testing.B) {
	buf := make([]byte, benchSize)
	b.Run("append+fsync", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "log"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		b.SetBytes(benchSize)
		for b.Loop() {
			if _, err := f.Write(buf); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
	})
	for _, n := range []int{1, 64} {
		b.Run(fmt.Sprintf("newfile+fsync+dirfsync/writers=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			d, err := os.Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			var next atomic.Int64
			b.SetBytes(benchSize)
			b.SetParallelism(writers(n))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					f, err := os.Create(filepath.Join(dir, fmt.Sprint(next.Add(1))))
					if err == nil {
						_, err = f.Write(buf)
					}
					if err == nil {
						err = f.Sync()
					}
					if err == nil {
						err = f.Close()
					}
					if err == nil {
						err = d.Sync()
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
		})
	}
}

// BenchmarkPut puts 10 KB messages in a Dir from 1 and 64 goroutines;
// compare with BenchmarkFloor/newfile+fsync+dirfsync.
func BenchmarkPut(b *testing.B) {
	body := bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyz\r\n"), benchSize/38+1)[:benchSize]
	for _, n := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", n), func(b *testing.B) {
			sp, err := spool.Open(context.Background(), b.TempDir(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer sp.Close()
			var next atomic.Int64
			b.SetBytes(benchSize)
			b.SetParallelism(writers(n))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					it := &spool.Item{ID: fmt.Sprint("m", next.Add(1)), Role: spool.RoleAccess, From: "a@pec.example.it", To: []string{"b@pec.example.org"}}
					if err := sp.Put(context.Background(), it, bytes.NewReader(body)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
		})
	}
}

// BenchmarkDone records a step with a 4 KB output (a signed receipt) on
// items of a Dir, from 1 and 64 goroutines.
func BenchmarkDone(b *testing.B) {
	out := bytes.Repeat([]byte("r"), 4<<10)
	for _, n := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", n), func(b *testing.B) {
			sp, err := spool.Open(context.Background(), b.TempDir(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer sp.Close()
			const items = 64
			for i := range items {
				mustPut(b, sp, fmt.Sprint("m", i), "body")
			}
			var next atomic.Int64
			b.SetParallelism(writers(n))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k := next.Add(1)
					if err := sp.Done(context.Background(), fmt.Sprint("m", k%items), fmt.Sprint("step", k), bytes.NewReader(out)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "step/s")
		})
	}
}

// BenchmarkMemoryPut is the in-memory spool, for scale.
func BenchmarkMemoryPut(b *testing.B) {
	body := make([]byte, benchSize)
	sp := spool.NewMemory(nil)
	var next atomic.Int64
	b.SetBytes(benchSize)
	for b.Loop() {
		if err := sp.Put(context.Background(), &spool.Item{ID: fmt.Sprint("m", next.Add(1))}, bytes.NewReader(body)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutFloor alternates, round by round, Puts of 10 KB messages
// and the floor of a file per message (a new file written, fsync'd, and
// the directory fsync'd, each call on its own), from 1 and 64
// goroutines, so that the changing rate of a shared disk weighs on both
// alike. It reports both rates and their ratio (put/floor). Each
// iteration is one round (50 calls of each for 1 goroutine, 1,280 for 64):
// run it with -benchtime 5x.
func BenchmarkPutFloor(b *testing.B) {
	body := make([]byte, benchSize)
	for _, n := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			floorDir := filepath.Join(dir, "floor")
			os.Mkdir(floorDir, 0o750)
			d, err := os.Open(floorDir)
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			sp, err := spool.Open(context.Background(), filepath.Join(dir, "spool"), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer sp.Close()
			each := 20 * n
			if n == 1 {
				each = 50
			}
			var id atomic.Int64
			var tFloor, tPut time.Duration
			ops := 0
			for b.Loop() {
				tFloor += concurrently(b, n, each, func() error {
					f, err := os.Create(filepath.Join(floorDir, fmt.Sprint(id.Add(1))))
					if err != nil {
						return err
					}
					if _, err = f.Write(body); err == nil {
						err = f.Sync()
					}
					if cerr := f.Close(); err == nil {
						err = cerr
					}
					if err == nil {
						err = d.Sync()
					}
					return err
				})
				tPut += concurrently(b, n, each, func() error {
					return sp.Put(context.Background(), &spool.Item{ID: fmt.Sprint("m", id.Add(1)), Role: spool.RoleAccess, To: []string{"b@pec.example.org"}}, bytes.NewReader(body))
				})
				ops += each
			}
			floor, put := float64(ops)/tFloor.Seconds(), float64(ops)/tPut.Seconds()
			b.ReportMetric(floor, "floor-msg/s")
			b.ReportMetric(put, "put-msg/s")
			b.ReportMetric(put/floor, "put/floor")
		})
	}
}

// concurrently runs fn ops times from n goroutines and returns how long
// it took.
func concurrently(b *testing.B, n, ops int, fn func() error) time.Duration {
	var left atomic.Int64
	left.Store(int64(ops))
	var wg sync.WaitGroup
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				if err := fn(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}
