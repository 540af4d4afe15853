package imap

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

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
