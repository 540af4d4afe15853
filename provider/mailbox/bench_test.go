package mailbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var benchMsg = "Subject: bench\r\n\r\n" + strings.Repeat(strings.Repeat("Q", 76)+"\r\n", 4<<10/78)

// seed writes n messages straight into cur/ and numbers them once.
func seed(b *testing.B, n int) (*Maildir, Mailbox) {
	s, err := OpenMaildir(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	box, _ := s.Mailbox(context.Background(), "u")
	cur := filepath.Join(s.Dir("u"), "cur")
	for i := range n {
		name := fmt.Sprintf("%d.M%dP1.bench,S=%d:2,S", 1700000000+i, i, len(benchMsg))
		if err := os.WriteFile(filepath.Join(cur, name), []byte(benchMsg), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := box.List(context.Background(), Inbox); err != nil {
		b.Fatal(err)
	}
	return s, box
}

// BenchmarkDeliver stores a 4 KiB message durably, into an empty folder
// and into one of 10,000 messages (whose dovecot-uidlist is rewritten).
func BenchmarkDeliver(b *testing.B) {
	for _, n := range []int{0, 10_000} {
		b.Run(fmt.Sprintf("folder=%d", n), func(b *testing.B) {
			_, box := seed(b, n)
			b.SetBytes(int64(len(benchMsg)))
			for b.Loop() {
				if _, err := box.Deliver(context.Background(), Inbox, strings.NewReader(benchMsg), 0, time.Time{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkList lists a folder of 10,000 messages that did not change.
func BenchmarkList(b *testing.B) {
	_, box := seed(b, 10_000)
	time.Sleep(1100 * time.Millisecond) // past the directories' clock tick
	box.List(context.Background(), Inbox)
	for b.Loop() {
		if _, err := box.List(context.Background(), Inbox); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFsyncFloor is the floor of Deliver: a file written and synced,
// renamed, its directory synced.
func BenchmarkFsyncFloor(b *testing.B) {
	dir := b.TempDir()
	os.Mkdir(filepath.Join(dir, "tmp"), 0o700)
	os.Mkdir(filepath.Join(dir, "new"), 0o700)
	b.SetBytes(int64(len(benchMsg)))
	i := 0
	for b.Loop() {
		i++
		tmp := filepath.Join(dir, "tmp", fmt.Sprint(i))
		f, err := os.Create(tmp)
		if err != nil {
			b.Fatal(err)
		}
		f.WriteString(benchMsg)
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		f.Close()
		if err := os.Rename(tmp, filepath.Join(dir, "new", fmt.Sprint(i))); err != nil {
			b.Fatal(err)
		}
		if err := syncDir(filepath.Join(dir, "new")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeliverQuota stores a 4 KiB message under a quota, its line
// appended to maildirsize and synced, and one also filed in Archive (a
// hard link, its directory synced), beside plain Deliver above.
func BenchmarkDeliverQuota(b *testing.B) {
	for _, archive := range []bool{false, true} {
		b.Run(fmt.Sprintf("archive=%v", archive), func(b *testing.B) {
			s, err := OpenMaildir(b.TempDir(), &MaildirOptions{Quota: 10 << 30})
			if err != nil {
				b.Fatal(err)
			}
			box, _ := s.Mailbox(context.Background(), "u")
			deliver := box.Deliver
			if archive {
				deliver = box.(Archiver).DeliverArchived
			}
			b.SetBytes(int64(len(benchMsg)))
			for b.Loop() {
				if _, err := deliver(context.Background(), Inbox, strings.NewReader(benchMsg), 0, time.Time{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
