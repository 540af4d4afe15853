package provider_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/pecsdk/pec/provider"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
	"github.com/pecsdk/pec/provider/spool"
)

// signatureRate measures, for d, how many sets of the 4 RSA signatures a
// certified message needs (acceptance, envelope, presa in carico, delivery
// receipt) the machine makes per second on all its cores.
func signatureRate(b *testing.B, key crypto.Signer, d time.Duration) float64 {
	digest := sha256.Sum256([]byte("signed attributes"))
	var n atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if _, err := key.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
					b.Error(err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / 4 / d.Seconds()
}

// BenchmarkSignatures is the floor of BenchmarkCertified: sets of 4 RSA-2048
// signatures per second on all cores.
func BenchmarkSignatures(b *testing.B) {
	_, key, err := benchKey()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		digest := sha256.Sum256([]byte("signed attributes"))
		for pb.Next() {
			for range 4 {
				if _, err := key.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

func benchKey() (any, crypto.Signer, error) {
	n, err := providertest.Start(nil)
	if err != nil {
		return nil, nil, err
	}
	defer n.Close()
	_, key, err := n.PKI.NewProvider("bench", "bench@pec.bench.example", nil)
	return nil, key, err
}

// BenchmarkCertified measures certified messages per second end to end
// between two in-process providers with durability on (file spool,
// Maildir, file trace): alice submits to alpha, bob gets the envelope at
// beta, and the message counts when its delivery receipt is in alice's
// mailbox. The rate of the 4 signatures each message needs, measured in
// the same run, is reported beside it (sig-msgs/s) with the ratio.
func BenchmarkCertified(b *testing.B) {
	n := providertest.NewNetwork(b, &providertest.Options{Durable: os.Getenv("BENCH_MEMORY") == "", Configure: func(_ string, c *provider.Config) {
		c.Workers = 64
	}})
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	_, key, err := benchKey()
	if err != nil {
		b.Fatal(err)
	}
	sigRate := signatureRate(b, key, time.Second)
	benchProfileRates()

	senders := benchSenders()
	var next atomic.Int64
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtp.DialTLS(alpha.Submission, n.ClientTLS())
			if err != nil {
				b.Error(err)
				return
			}
			defer c.Close()
			if err := c.Auth(sasl.NewPlainClient("", alice, "a-pass")); err != nil {
				b.Error(err)
				return
			}
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				msg := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: bench %d\r\nMessage-ID: <bench-%d@client.example>\r\n\r\nMessaggio %d.\r\n", alice, bob, i, i, i)
				if err := c.SendMail(alice, []string{bob}, bytes.NewReader([]byte(msg))); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	submitted := time.Since(start)
	ctx := context.Background()
	mb, err := alpha.Store.Mailbox(ctx, alice)
	if err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(5*time.Minute + time.Duration(b.N)*100*time.Millisecond)
	// INBOX is listed again when it changes, at most every 50 ms: a List
	// every 10 ms, each reading a folder of hundreds of messages, cost
	// the providers about 3% of the processor time they were measured by.
	watch, _ := mb.(mailbox.Watcher)
	for {
		var changed <-chan struct{}
		if watch != nil {
			changed = watch.Changed(mailbox.Inbox) // before List: no change is missed
		}
		fd, err := mb.List(ctx, mailbox.Inbox)
		if err != nil {
			b.Fatal(err)
		}
		if len(fd.Messages) >= 2*b.N {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d messages in alice's mailbox", len(fd.Messages), 2*b.N)
		}
		t := time.NewTimer(time.Second)
		select {
		case <-changed:
		case <-t.C:
		}
		t.Stop()
		time.Sleep(50 * time.Millisecond)
	}
	el := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	rate := float64(b.N) / el.Seconds()
	b.ReportMetric(rate, "msgs/s")
	b.ReportMetric(sigRate, "sig-msgs/s")
	b.ReportMetric(100*rate/sigRate, "%-of-sig")
	b.ReportMetric(submitted.Seconds()/el.Seconds()*100, "%-submitting")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/msg")
	b.ReportMetric(1000*float64(runtime.GOMAXPROCS(0))/sigRate, "sig-cpu-ms/msg")
	b.ReportMetric(float64(senders), "senders")
}

// benchSenders is how many SMTP sessions submit at once in
// BenchmarkCertified: BENCH_SENDERS, else 64. Each session waits for its
// 250, given once the message is fsync'd in the spool, before sending the
// next: 16, as before, left the two providers waiting on the disk with
// processor time to spare (a latency-bound run), which measured the
// senders rather than the providers.
func benchSenders() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_SENDERS")); err == nil && n > 0 {
		return n
	}
	return 64
}

// benchProfileRates turns on the block and mutex profiles written by
// -test.blockprofile and -test.mutexprofile when BENCH_PROFILE_WAITS is a
// positive n: the block profile's rate and the mutex profile's fraction
// (1 records every event), from after the signature rate is measured.
// They cost processor time, so they are off in the figures reported.
func benchProfileRates() {
	if n, err := strconv.Atoi(os.Getenv("BENCH_PROFILE_WAITS")); err == nil && n > 0 {
		runtime.SetBlockProfileRate(n)
		runtime.SetMutexProfileFraction(n)
	}
}

// cpuTime is the CPU time the process has used, user and system: both
// providers and the senders of the benchmark run in it.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// spoolWritesPerMessage is how many durable spool writes (Put, Done, Retry,
// Complete) a certified message alice → bob costs the two providers
// together: the access item 6, the incoming envelope 6 (its claim
// included), the two notices coming back 3 each.
const spoolWritesPerMessage = 18

// BenchmarkSpoolFloor is the disk's floor under BenchmarkCertified: spool
// steps recorded per second by 64 concurrent writers on a spool.Dir, as the
// workers of a provider make them, reported as messages per second at
// spoolWritesPerMessage writes each (without the Maildir and trace writes,
// which come on top).
func BenchmarkSpoolFloor(b *testing.B) {
	ctx := context.Background()
	sp, err := spool.Open(ctx, b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	const writers = 64
	for i := range writers {
		if err := sp.Put(ctx, &spool.Item{ID: fmt.Sprintf("w%d", i), Role: spool.RoleAccess, From: "a@b.example", To: []string{"c@d.example"}}, strings.NewReader("x")); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				if err := sp.Done(ctx, fmt.Sprintf("w%d", i), fmt.Sprintf("s%d", n), strings.NewReader("output")); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	rate := float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(rate, "steps/s")
	b.ReportMetric(rate/spoolWritesPerMessage, "msgs/s-floor")
}
