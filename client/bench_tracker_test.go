package client

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/receipt"
)

// Classify from memory, for each kind of the sample set, beside its floors:
// the parse it wraps (envelope.Parse or receipt.Parse with the same trust),
// an RSA-2048 signature check and a SHA-256 of the same bytes.

func BenchmarkClassify(b *testing.B) {
	set := samples(b)
	opts := verifyOpts(b)
	for _, k := range pec.Kinds {
		msg := set.Messages[k]
		b.Run(k.String(), func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				m, err := Classify(bytes.NewReader(msg), opts)
				if err != nil || m.Kind != k {
					b.Fatal(m.Kind, err)
				}
			}
		})
	}
}

func BenchmarkRefParse(b *testing.B) {
	set := samples(b)
	opts := verifyOpts(b)
	for _, k := range pec.Kinds {
		msg := set.Messages[k]
		b.Run(k.String(), func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if k.IsEnvelope() {
					_, err = envelope.Parse(bytes.NewReader(msg), opts)
				} else {
					_, err = receipt.Parse(bytes.NewReader(msg), opts)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRefRSA2048Verify(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256([]byte("daticert"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRefSHA256(b *testing.B) {
	msg := samples(b).Messages[pec.KindDeliverySummary]
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		sha256.Sum256(msg)
	}
}

// Observe throughput: receipts per second into a tracker in memory, into
// the store without fsync, and into the store with an fsync per append,
// beside the floor of the last: one write and fsync of a line of the same
// size, and of the evidence file: its creation (BenchmarkRefCreateFile).

// benchReceipts returns n classified receipts for n/4 registered messages.
func benchReceipts(b *testing.B, n int) ([]Sent, []*Message) {
	b.Helper()
	var sents []Sent
	var msgs []*Message
	for i := 0; len(msgs) < n; i++ {
		m := newSent(i, sampleTime.Add(time.Duration(i)*time.Second), []string{bob, dora}, []string{carol})
		sents = append(sents, m.sent)
		for _, s := range []step{acc(), at(pec.KindTakeInCharge, 0, bob, dora), at(pec.KindDeliverySummary, 0.01, bob), at(pec.KindDeliverySummary, 0.01, dora)} {
			msgs = append(msgs, classifyBytes(b, m.build(b, s.kind, s.after, s.rcpt...)))
		}
	}
	return sents, msgs[:n]
}

func BenchmarkObserve(b *testing.B) {
	sents, msgs := benchReceipts(b, 64)
	for _, mode := range []string{"memory", "store-nosync", "store-fsync"} {
		b.Run(mode, func(b *testing.B) {
			var tr *Tracker
			reset := func() {
				if tr != nil {
					tr.Close()
				}
				path := ""
				if mode != "memory" {
					path = filepath.Join(b.TempDir(), fmt.Sprint(time.Now().UnixNano())) + string(filepath.Separator)
				}
				var err error
				tr, err = OpenTracker(path, &TrackerOptions{NoSync: mode == "store-nosync"})
				if err != nil {
					b.Fatal(err)
				}
				for _, s := range sents {
					if err := tr.Register(s); err != nil {
						b.Fatal(err)
					}
				}
			}
			reset()
			defer func() { tr.Close() }()
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				if i == len(msgs) {
					b.StopTimer()
					reset()
					i = 0
					b.StartTimer()
				}
				if _, err := tr.Observe(msgs[i]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "receipts/s")
		})
	}
}

func BenchmarkRefFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "journal"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	line := []byte(strings.Repeat("x", 700) + "\n") // a receipt record is about this long
	for b.Loop() {
		if _, err := f.Write(line); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefCreateFile is the floor of keeping one receipt as a file:
// create, write and rename, without sync.
func BenchmarkRefCreateFile(b *testing.B) {
	dir := b.TempDir()
	msg := samples(b).Messages[pec.KindDeliverySummary]
	i := 0
	for b.Loop() {
		f, err := os.CreateTemp(dir, ".tmp-*")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Write(msg); err != nil {
			b.Fatal(err)
		}
		f.Close()
		if err := os.Rename(f.Name(), filepath.Join(dir, fmt.Sprint(i))); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
