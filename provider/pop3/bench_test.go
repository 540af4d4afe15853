package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/internal/dovecottest"
	"github.com/pecsdk/pec/provider/mailbox"
)

// benchMessage is a 64 KiB message of 76-column lines, as a base64 body.
var benchMessage = "Subject: bench\r\nMessage-ID: <b@example.it>\r\n\r\n" + strings.Repeat(strings.Repeat("A", 76)+"\r\n", 64<<10/78)

// BenchmarkRETR retrieves one message per iteration over POP3S on
// 127.0.0.1, from each store.
func BenchmarkRETR(b *testing.B) {
	cert, err := dovecottest.NewTLS("bench CA")
	if err != nil {
		b.Fatal(err)
	}
	md, err := mailbox.OpenMaildir(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	for name, store := range map[string]mailbox.Store{"memory": mailbox.NewMemory(), "maildir": md} {
		b.Run(name, func(b *testing.B) {
			auth := mailbox.NewAccounts(&mailbox.AccountsOptions{Iterations: 1000})
			auth.Set("u", "p")
			box, _ := store.Mailbox(context.Background(), "u")
			// Seen already, so that RETR does not rename the file.
			box.Deliver(context.Background(), mailbox.Inbox, strings.NewReader(benchMessage), mailbox.Seen, time.Time{})
			srv := New(store, auth, nil)
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			go srv.Serve(tls.NewListener(ln, cert.ServerConfig()))
			defer srv.Close()
			c, err := tls.Dial("tcp", ln.Addr().String(), cert.ClientConfig())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			r := bufio.NewReader(c)
			r.ReadString('\n')
			io.WriteString(c, "USER u\r\nPASS p\r\n")
			r.ReadString('\n')
			if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "+OK") {
				b.Fatal(l)
			}
			b.SetBytes(int64(len(benchMessage)))
			b.ResetTimer()
			for b.Loop() {
				io.WriteString(c, "RETR 1\r\n")
				for {
					l, err := r.ReadSlice('\n')
					if err != nil {
						b.Fatal(err)
					}
					if string(l) == ".\r\n" {
						break
					}
				}
			}
		})
	}
}

// BenchmarkWriteMultiline is the floor of RETR: the dot-stuffing copy
// alone, from memory to nowhere.
func BenchmarkWriteMultiline(b *testing.B) {
	w := bufio.NewWriter(io.Discard)
	b.SetBytes(int64(len(benchMessage)))
	for b.Loop() {
		if err := writeMultiline(w, strings.NewReader(benchMessage), -1); err != nil {
			b.Fatal(err)
		}
	}
}
