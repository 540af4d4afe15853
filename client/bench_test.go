package client_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pecsdk/pec/client"
)

// BenchmarkFetch measures messages fetched, stored (synced), classified and
// verified per second from a real Dovecot, over IMAP and POP3, beside the
// same messages classified and verified from disk, and the floor of
// storing: writing, syncing and renaming a file of the average size.
func BenchmarkFetch(b *testing.B) {
	set, msgs := seedSet(b)
	srv := startSeeded(b, msgs)
	var total int64
	for _, m := range msgs {
		total += int64(len(m.data))
	}
	verify := liveOpts(set)
	perMsg := func(b *testing.B) {
		el := b.Elapsed().Seconds()
		if el > 0 {
			b.ReportMetric(float64(b.N*len(msgs))/el, "msgs/s")
		}
		b.SetBytes(total)
	}
	for _, proto := range []client.Protocol{client.IMAP, client.POP3} {
		b.Run(string(proto), func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir, err := os.MkdirTemp("", "bench-fetch-")
				if err != nil {
					b.Fatal(err)
				}
				o := fetchOpts(srv, proto, client.SecurityTLS, dir, set)
				b.StartTimer()
				res, err := client.Fetch(ctx, o)
				if err != nil || len(res.Messages) != len(msgs) {
					b.Fatalf("%d messages, %v", len(res.Messages), err)
				}
				b.StopTimer()
				os.RemoveAll(dir)
				b.StartTimer()
			}
			perMsg(b)
		})
	}
	b.Run("disk", func(b *testing.B) {
		dir := b.TempDir()
		var files []string
		for i, m := range msgs {
			p := filepath.Join(dir, filepath.Base(m.name)+string(rune('a'+i%26))+".eml")
			if err := os.WriteFile(p, m.data, 0o600); err != nil {
				b.Fatal(err)
			}
			files = append(files, p)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for _, p := range files {
				f, err := os.Open(p)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := client.Classify(f, verify); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		}
		perMsg(b)
	})
	b.Run("fsync-floor", func(b *testing.B) {
		dir := b.TempDir()
		buf := make([]byte, total/int64(len(msgs)))
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for j := range msgs {
				p := filepath.Join(dir, "tmp")
				f, err := os.Create(p)
				if err != nil {
					b.Fatal(err)
				}
				f.Write(buf)
				f.Sync()
				f.Close()
				os.Rename(p, filepath.Join(dir, "m"+string(rune('a'+j%26))))
				d, _ := os.Open(dir)
				d.Sync()
				d.Close()
			}
		}
		perMsg(b)
	})
}
