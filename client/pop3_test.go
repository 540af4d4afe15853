package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/internal/dovecottest"
)

// stuff dot-stuffs b as a POP3 server sends a message (RFC 1939 §3).
func stuff(b []byte) []byte {
	var out bytes.Buffer
	bol := true
	for _, c := range b {
		if bol && c == '.' {
			out.WriteByte('.')
		}
		out.WriteByte(c)
		bol = c == '\n'
	}
	if !bol {
		out.WriteString("\r\n")
	}
	out.WriteString(".\r\n")
	return out.Bytes()
}

func TestDotReader(t *testing.T) {
	long := "." + strings.Repeat("x", 70000) + "\r\n"
	for _, tc := range []struct {
		name, wire, want string
		err              bool
	}{
		{"empty", ".\r\n", "", false},
		{"plain", "a\r\nb\r\n.\r\n", "a\r\nb\r\n", false},
		{"stuffed", "..\r\n...x\r\n.\r\n", ".\r\n..x\r\n", false},
		{"dot inside", "a.b\r\n .\r\n.\r\n", "a.b\r\n .\r\n", false},
		{"lf ends", "a\n..b\n.\n", "a\n.b\n", false},
		{"long stuffed line", "." + long + ".\r\n", long, false},
		{"long line then dot", strings.Repeat("y", 40000) + ".\r\n.\r\n", strings.Repeat("y", 40000) + ".\r\n", false},
		{"cut short", "a\r\nb", "", true},
		{"no terminator", "a\r\n", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tc.wire+"+OK next\r\n"), 32<<10)
			if tc.err {
				br = bufio.NewReaderSize(strings.NewReader(tc.wire), 32<<10)
			}
			d := &dotReader{r: br, bol: true}
			got, err := io.ReadAll(d)
			if tc.err {
				if err == nil {
					t.Fatalf("no error; read %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got %q, want %q", truncate(string(got), 60), truncate(tc.want, 60))
			}
			if rest, _ := br.ReadString('\n'); rest != "+OK next\r\n" {
				t.Errorf("reader not left after the terminator: %q", rest)
			}
		})
	}
}

// FuzzDotReader: whatever the message, stuffing then reading gives it back
// (with a final line end added when missing), and the terminator is found.
func FuzzDotReader(f *testing.F) {
	for _, s := range []string{"", ".", "..\r\n", "a\r\n.\r\nb", ".x\n.\n", "\r\n.\r\n.\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		want := msg
		if len(want) > 0 && want[len(want)-1] != '\n' {
			want = append(append([]byte(nil), want...), '\r', '\n')
		}
		d := &dotReader{r: bufio.NewReaderSize(bytes.NewReader(append(stuff(msg), "TAIL"...)), 16), bol: true}
		got, err := io.ReadAll(d)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}

// fakePOP3 serves one connection with script, over implicit TLS.
func fakePOP3(t *testing.T, script func(r *bufio.Reader, w io.Writer)) (string, *tls.Config) {
	t.Helper()
	cert, err := dovecottest.NewTLS("Fake POP3 CA")
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", cert.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		script(bufio.NewReader(c), c)
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String(), cert.ClientConfig()
}

func expect(r *bufio.Reader, w io.Writer, cmd, reply string) bool {
	l, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(l, cmd) {
		io.WriteString(w, "-ERR expected "+cmd+"\r\n")
		return false
	}
	io.WriteString(w, reply)
	return true
}

func TestPOP3Session(t *testing.T) {
	msg := "Subject: x\r\n\r\n.leading dot\r\nend\r\n"
	ir := base64.StdEncoding.EncodeToString([]byte("\x00u@example.test\x00pw"))
	addr, conf := fakePOP3(t, func(r *bufio.Reader, w io.Writer) {
		io.WriteString(w, "+OK ready\r\n")
		_ = expect(r, w, "CAPA", "+OK\r\nSASL PLAIN\r\nUIDL\r\n.\r\n") &&
			expect(r, w, "AUTH PLAIN", "+ \r\n") && // ignores the initial response
			expect(r, w, ir, "+OK in\r\n") &&
			expect(r, w, "UIDL", "+OK\r\n1 aaa\r\n2 bbb\r\n.\r\n") &&
			expect(r, w, "RETR 2", "+OK\r\n"+string(stuff([]byte(msg)))) &&
			expect(r, w, "QUIT", "+OK bye\r\n")
	})
	ctx := context.Background()
	c, err := dialPOP3(ctx, addr, SecurityTLS, conf, 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.auth(ctx, "", "u@example.test", "pw"); err != nil {
		t.Fatal(err)
	}
	list, err := c.uidl(ctx)
	if err != nil || len(list) != 2 || list[1] != (pop3Msg{2, "bbb"}) {
		t.Fatalf("uidl %v, %v", list, err)
	}
	var got []byte
	if err := c.retr(ctx, 2, func(r io.Reader) error { got, err = io.ReadAll(r); return err }); err != nil {
		t.Fatal(err)
	}
	if string(got) != msg {
		t.Errorf("retr %q, want %q", got, msg)
	}
	if err := c.quit(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestPOP3Errors(t *testing.T) {
	t.Run("no CAPA, USER refused", func(t *testing.T) {
		addr, conf := fakePOP3(t, func(r *bufio.Reader, w io.Writer) {
			io.WriteString(w, "+OK ready\r\n")
			_ = expect(r, w, "CAPA", "-ERR what\r\n") && expect(r, w, "USER", "+OK\r\n") && expect(r, w, "PASS", "-ERR [AUTH] no\r\n")
		})
		c, err := dialPOP3(context.Background(), addr, SecurityTLS, conf, 5*time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.close()
		err = c.auth(context.Background(), "", "u", "p")
		var pe *pop3Error
		if !errors.Is(err, ErrAuth) || errors.As(err, &pe) {
			t.Errorf("%v: want ErrAuth", err)
		}
	})
	t.Run("malformed UIDL", func(t *testing.T) {
		addr, conf := fakePOP3(t, func(r *bufio.Reader, w io.Writer) {
			io.WriteString(w, "+OK ready\r\n")
			_ = expect(r, w, "CAPA", "+OK\r\n.\r\n") && expect(r, w, "UIDL", "+OK\r\nzero\r\n.\r\n")
		})
		c, err := dialPOP3(context.Background(), addr, SecurityTLS, conf, 5*time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.close()
		if _, err := c.uidl(context.Background()); err == nil || !strings.Contains(err.Error(), "malformed") {
			t.Errorf("%v", err)
		}
	})
	t.Run("stalled server times out", func(t *testing.T) {
		addr, conf := fakePOP3(t, func(r *bufio.Reader, w io.Writer) {
			io.WriteString(w, "+OK ready\r\n")
			_ = expect(r, w, "CAPA", "+OK\r\n.\r\n") && expect(r, w, "RETR", "+OK\r\npart of a message\r\n")
			time.Sleep(2 * time.Second)
		})
		c, err := dialPOP3(context.Background(), addr, SecurityTLS, conf, 200*time.Millisecond, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.close()
		t0 := time.Now()
		err = c.retr(context.Background(), 1, func(r io.Reader) error { _, err := io.ReadAll(r); return err })
		var ne net.Error
		if err == nil || !errors.As(err, &ne) || !ne.Timeout() || time.Since(t0) > time.Second {
			t.Errorf("%v after %v: want a timeout", err, time.Since(t0))
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		addr, conf := fakePOP3(t, func(r *bufio.Reader, w io.Writer) {
			io.WriteString(w, "+OK ready\r\n")
			_ = expect(r, w, "CAPA", "+OK\r\n.\r\n")
			time.Sleep(2 * time.Second)
		})
		c, err := dialPOP3(context.Background(), addr, SecurityTLS, conf, 5*time.Second, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.close()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if _, err := c.uidl(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%v: want the context's error", err)
		}
	})
	t.Run("STLS not offered", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			r := bufio.NewReader(c)
			io.WriteString(c, "+OK ready\r\n")
			expect(r, c, "CAPA", "+OK\r\nUSER\r\n.\r\n")
			r.ReadString('\n')
		}()
		_, err = dialPOP3(context.Background(), l.Addr().String(), SecurityStartTLS, nil, 5*time.Second, nil)
		if !errors.Is(err, ErrInsecure) {
			t.Errorf("%v: want ErrInsecure", err)
		}
	})
	t.Run("long reply line", func(t *testing.T) {
		addr, conf := fakePOP3(t, func(r *bufio.Reader, w io.Writer) {
			io.WriteString(w, "+OK "+strings.Repeat("x", 100000)+"\r\n")
		})
		if _, err := dialPOP3(context.Background(), addr, SecurityTLS, conf, 5*time.Second, nil); err == nil || !strings.Contains(err.Error(), "too long") {
			t.Errorf("%v", err)
		}
	})
}
