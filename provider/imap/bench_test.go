package imap

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pecsdk/pec/internal/dovecottest"
	"github.com/pecsdk/pec/provider/mailbox"
)

const benchMessages = 10_000

// benchBody is an 8 KiB message body: base64-like lines of 76 columns.
var benchBody = strings.Repeat(strings.Repeat("Q", 76)+"\r\n", 8<<10/78)

// seedMaildir writes n messages straight into a Maildir's cur/, as a
// migration would, and lets the store number them once.
func seedMaildir(b *testing.B, n int) (*mailbox.Maildir, string) {
	root := b.TempDir()
	md, err := mailbox.OpenMaildir(root, nil)
	if err != nil {
		b.Fatal(err)
	}
	box, err := md.Mailbox(context.Background(), user)
	if err != nil {
		b.Fatal(err)
	}
	cur := filepath.Join(md.Dir(user), "cur")
	for i := range n {
		msg := fmt.Sprintf("From: a@pec.example.it\r\nSubject: %d\r\nMessage-ID: <%d@example.it>\r\n\r\n%s", i, i, benchBody)
		name := fmt.Sprintf("%d.M%dP1.bench,S=%d:2,S", 1700000000+i, i, len(msg))
		if err := os.WriteFile(filepath.Join(cur, name), []byte(msg), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	d, err := box.List(context.Background(), mailbox.Inbox)
	if err != nil || len(d.Messages) != n {
		b.Fatalf("seeded %d messages: %v", len(d.Messages), err)
	}
	return md, cur
}

// fetchAll sends one FETCH and reads the response to its tagged OK,
// returning the bytes read.
func fetchAll(b *testing.B, c *tls.Conn, r *bufio.Reader, items string) int64 {
	fmt.Fprintf(c, "zz9 UID FETCH 1:* %s\r\n", items)
	var n int64
	for {
		l, err := r.ReadSlice('\n')
		n += int64(len(l))
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		if strings.HasPrefix(string(l), "zz9 ") {
			if !strings.HasPrefix(string(l), "zz9 OK") {
				b.Fatal(string(l))
			}
			return n
		}
	}
}

// BenchmarkFetchAll fetches every message of a 10,000-message Maildir
// INBOX over IMAPS on 127.0.0.1 in one command per iteration: the whole
// messages (a client downloading the mailbox) and the metadata alone (a
// client synchronising flags).
func BenchmarkFetchAll(b *testing.B) {
	md, _ := seedMaildir(b, benchMessages)
	f := start(b, md, nil)
	for _, tc := range fetchCases {
		b.Run(tc.name, func(b *testing.B) {
			runFetch(b, f.imaps, f.cert.ClientConfig(), tc.items)
		})
	}
}

var fetchCases = []struct{ name, items string }{
	{"body", "(UID RFC822.SIZE FLAGS BODY.PEEK[])"},
	{"flags", "(UID RFC822.SIZE FLAGS INTERNALDATE)"},
	{"envelope", "(UID ENVELOPE)"},
}

// runFetch logs in to addr, selects INBOX once (untimed), then times one
// FETCH of every message per iteration.
func runFetch(b *testing.B, addr string, conf *tls.Config, items string) {
	c, err := tls.Dial("tcp", addr, conf)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReaderSize(c, 64<<10)
	r.ReadString('\n')
	fmt.Fprintf(c, "a LOGIN %q %q\r\nb SELECT INBOX\r\n", user, pass)
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		if strings.HasPrefix(l, "b ") {
			if !strings.HasPrefix(l, "b OK") {
				b.Fatal(l)
			}
			break
		}
	}
	var bytes int64
	b.ResetTimer()
	for b.Loop() {
		bytes = fetchAll(b, c, r, items)
	}
	b.SetBytes(bytes)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchMessages, "ns/msg")
}

// BenchmarkFetchAllDovecot is the reference: Dovecot serving the same
// 10,000 messages, written the same way into its Maildir, over IMAPS on
// 127.0.0.1, after a first SELECT has built its index.
func BenchmarkFetchAllDovecot(b *testing.B) {
	dc := dovecottest.Start(b, &dovecottest.Options{Users: map[string]string{user: pass}})
	cur := filepath.Join(dc.Maildir(user), "cur")
	st, err := os.Stat(cur)
	if err != nil {
		b.Fatal(err)
	}
	owner := st.Sys().(*syscall.Stat_t)
	for i := range benchMessages {
		msg := fmt.Sprintf("From: a@pec.example.it\r\nSubject: %d\r\nMessage-ID: <%d@example.it>\r\n\r\n%s", i, i, benchBody)
		p := filepath.Join(cur, fmt.Sprintf("%d.M%dP1.bench,S=%d:2,S", 1700000000+i, i, len(msg)))
		if err := os.WriteFile(p, []byte(msg), 0o600); err != nil {
			b.Fatal(err)
		}
		os.Chown(p, int(owner.Uid), int(owner.Gid))
	}
	for _, tc := range fetchCases {
		b.Run(tc.name, func(b *testing.B) {
			runFetch(b, dc.IMAPS, dc.TLS.ClientConfig(), tc.items)
		})
	}
}

// BenchmarkFetchRatio serves one 10,000-message Maildir with this
// package and with Dovecot, both over IMAPS on 127.0.0.1, and times the
// same FETCH of every message on each in turn within every iteration (the
// order swapped each time), so that both see the same load of a busy
// machine: the ratio metric is this package's time over Dovecot's.
func BenchmarkFetchRatio(b *testing.B) {
	dc := dovecottest.Start(b, &dovecottest.Options{Users: map[string]string{user: pass}})
	dir := dc.Maildir(user)
	st, err := os.Stat(dir)
	if err != nil {
		b.Fatal(err)
	}
	owner := st.Sys().(*syscall.Stat_t)
	md, err := mailbox.OpenMaildir(filepath.Dir(dir), nil)
	if err != nil {
		b.Fatal(err)
	}
	cur := filepath.Join(dir, "cur")
	for i := range benchMessages {
		msg := fmt.Sprintf("From: a@pec.example.it\r\nSubject: %d\r\nMessage-ID: <%d@example.it>\r\n\r\n%s", i, i, benchBody)
		p := filepath.Join(cur, fmt.Sprintf("%d.M%dP1.bench,S=%d:2,S", 1700000000+i, i, len(msg)))
		if err := os.WriteFile(p, []byte(msg), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	box, err := md.Mailbox(context.Background(), user)
	if err != nil {
		b.Fatal(err)
	}
	if d, err := box.List(context.Background(), mailbox.Inbox); err != nil || len(d.Messages) != benchMessages {
		b.Fatalf("listed %v, %v", d, err)
	}
	filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err == nil {
			os.Chown(p, int(owner.Uid), int(owner.Gid))
		}
		return err
	})
	f := start(b, md, nil)
	for _, tc := range fetchCases {
		b.Run(tc.name, func(b *testing.B) {
			oc, or := selectInbox(b, f.imaps, f.cert.ClientConfig())
			dcc, dr := selectInbox(b, dc.IMAPS, dc.TLS.ClientConfig())
			fetchAll(b, oc, or, tc.items) // warm both caches alike
			fetchAll(b, dcc, dr, tc.items)
			var ours, theirs time.Duration
			var bytes int64
			i := 0
			for b.Loop() {
				t0 := time.Now()
				if i%2 == 0 {
					bytes = fetchAll(b, oc, or, tc.items)
					t1 := time.Now()
					fetchAll(b, dcc, dr, tc.items)
					ours, theirs = ours+t1.Sub(t0), theirs+time.Since(t1)
				} else {
					fetchAll(b, dcc, dr, tc.items)
					t1 := time.Now()
					bytes = fetchAll(b, oc, or, tc.items)
					ours, theirs = ours+time.Since(t1), theirs+t1.Sub(t0)
				}
				i++
			}
			b.SetBytes(bytes)
			b.ReportMetric(float64(ours)/float64(theirs), "ratio")
			b.ReportMetric(float64(ours.Nanoseconds())/float64(b.N)/benchMessages, "ours-ns/msg")
			b.ReportMetric(float64(theirs.Nanoseconds())/float64(b.N)/benchMessages, "dovecot-ns/msg")
		})
	}
}

// selectInbox logs in to addr and selects INBOX.
func selectInbox(b *testing.B, addr string, conf *tls.Config) (*tls.Conn, *bufio.Reader) {
	c, err := tls.Dial("tcp", addr, conf)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	r := bufio.NewReaderSize(c, 64<<10)
	r.ReadString('\n')
	fmt.Fprintf(c, "a LOGIN %q %q\r\nb SELECT INBOX\r\n", user, pass)
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		if strings.HasPrefix(l, "b ") {
			if !strings.HasPrefix(l, "b OK") {
				b.Fatal(l)
			}
			return c, r
		}
	}
}

// BenchmarkReadFiles is the floor of the body fetch: reading the same
// 10,000 files from the Maildir, nothing else.
func BenchmarkReadFiles(b *testing.B) {
	_, cur := seedMaildir(b, benchMessages)
	des, err := os.ReadDir(cur)
	if err != nil {
		b.Fatal(err)
	}
	var total int64
	for b.Loop() {
		total = 0
		for _, de := range des {
			data, err := os.ReadFile(filepath.Join(cur, de.Name()))
			if err != nil {
				b.Fatal(err)
			}
			total += int64(len(data))
		}
	}
	b.SetBytes(total)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchMessages, "ns/msg")
}
