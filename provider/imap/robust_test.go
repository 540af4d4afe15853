package imap

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pecsdk/pec/provider/mailbox"
)

// raw is a test client speaking IMAP by hand.
type raw struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader
}

func (f *fixture) raw(t testing.TB) *raw {
	t.Helper()
	c, err := tls.Dial("tcp", f.imaps, f.cert.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := &raw{t: t, c: c, r: bufio.NewReader(c)}
	r.until("* OK")
	return r
}

// until reads lines up to one starting with prefix, and returns it.
func (r *raw) until(prefix string) string {
	r.t.Helper()
	r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		l, err := r.r.ReadString('\n')
		if err != nil {
			r.t.Fatalf("waiting for %q: %v", prefix, err)
		}
		if strings.HasPrefix(l, prefix) {
			return strings.TrimRight(l, "\r\n")
		}
	}
}

func (r *raw) send(s string) {
	r.t.Helper()
	r.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := r.c.Write([]byte(s + "\r\n")); err != nil {
		r.t.Fatal(err)
	}
}

// closed reports whether the server closed the connection within d.
func (r *raw) closed(d time.Duration) bool {
	r.c.SetReadDeadline(time.Now().Add(d))
	for {
		if _, err := r.r.ReadString('\n'); err != nil {
			ne, ok := err.(net.Error)
			return !(ok && ne.Timeout())
		}
	}
}

func TestMalformedCommands(t *testing.T) {
	f := start(t, nil, nil)
	f.deliver(t, mailbox.Inbox, msg1)
	r := f.raw(t)
	r.send(`a0 LOGIN "mario@pec.example.it" "segreta"`)
	r.until("a0 OK")
	r.send("a1 SELECT INBOX")
	r.until("a1 OK")
	for i, cmd := range []string{
		"FOO", "FETCH", "FETCH x (FLAGS)", "FETCH 1 (NOSUCH)", "STORE 1 +FLAGS", "SEARCH NOSUCHKEY",
		"UID FETCH 1:* (BODY[9.9.9])", "FETCH 4294967295 (FLAGS)", "SELECT",
		"APPEND Nope (\\Seen) {3+}\r\nabc", "COPY 1 Nope", "CREATE a.b", "DELETE Sent", "RENAME Sent Other",
	} {
		tag := fmt.Sprintf("m%d", i)
		r.send(tag + " " + cmd)
		l := r.until(tag + " ")
		if strings.HasPrefix(l, tag+" OK") && !strings.Contains(cmd, "4294967295") && !strings.Contains(cmd, "9.9.9") {
			t.Errorf("%s: %s", cmd, l)
		}
	}
	r.send("z NOOP")
	r.until("z OK")
	r.send("y FETCH 1 (RFC822.SIZE)")
	if l := r.until("* 1 FETCH"); !strings.Contains(l, fmt.Sprint(len(msg1))) {
		t.Errorf("after malformed commands: %s", l)
	}
}

// TestGiantLine: a line past imapserver's bound ends that session; the
// server goes on serving the others.
func TestGiantLine(t *testing.T) {
	f := start(t, nil, nil)
	f.deliver(t, mailbox.Inbox, msg1)
	other := f.login(t, nil)
	r := f.raw(t)
	go r.c.Write([]byte("a1 LOGIN " + strings.Repeat("a", 1<<20) + "\r\n"))
	if !r.closed(10 * time.Second) {
		t.Error("session still open after a 1 MiB line")
	}
	if _, err := other.Select("INBOX", nil).Wait(); err != nil {
		t.Errorf("other session: %v", err)
	}
}

// TestStall: a client that stops sending is cut at ReadTimeout, on both
// listeners, in the TLS handshake too.
func TestStall(t *testing.T) {
	f := start(t, nil, &Options{ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond})
	r := f.raw(t)
	r.send(`a0 LOGIN "mario@pec.example.it" "segreta"`)
	r.until("a0 OK")
	begin := time.Now()
	if !r.closed(10 * time.Second) {
		t.Error("stalled session still open")
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("stalled session cut after %v", d)
	}
	for _, addr := range []string{f.imaps, f.imap} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		rr := &raw{t: t, c: c, r: bufio.NewReader(c)}
		if !rr.closed(10 * time.Second) {
			t.Errorf("%s: silent client still connected", addr)
		}
	}
}

// TestManyConnections: 1,000 sessions at once, each logging in and
// reading a message.
func TestManyConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 connections")
	}
	f := start(t, nil, &Options{InsecureAuth: true})
	f.deliver(t, mailbox.Inbox, msg1)
	const n = 1000
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := net.Dial("tcp", f.imap)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	bad := 0
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			script := `a LOGIN "mario@pec.example.it" "segreta"` + "\r\nb SELECT INBOX\r\nc FETCH 1 BODY.PEEK[]\r\nd LOGOUT\r\n"
			if _, err := c.Write([]byte(script)); err != nil {
				mu.Lock()
				bad++
				mu.Unlock()
				return
			}
			var all bytes.Buffer
			buf := make([]byte, 4096)
			for {
				k, err := c.Read(buf)
				all.Write(buf[:k])
				if err != nil {
					break
				}
			}
			if got := all.String(); !strings.Contains(got, "prima") || !strings.Contains(got, "d OK") {
				mu.Lock()
				if bad == 0 {
					t.Errorf("bad session: %q", got)
				}
				bad++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if bad > 0 {
		t.Errorf("%d of %d sessions failed", bad, n)
	}
}

// TestPasswordGuessing: wrong passwords in a loop are slowed down, more
// with each failure, logged, and end the connection; the right user keeps
// being served meanwhile.
func TestPasswordGuessing(t *testing.T) {
	var logs syncBuffer
	f := start(t, nil, &Options{MaxAuthFailures: 4, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	f.deliver(t, mailbox.Inbox, msg1)
	r := f.raw(t)
	var delays []time.Duration
	for i := range 3 {
		begin := time.Now()
		tag := fmt.Sprintf("g%d", i)
		r.send(tag + ` LOGIN "mario@pec.example.it" "guess"`)
		if l := r.until(tag + " "); !strings.Contains(l, "NO [AUTHENTICATIONFAILED]") {
			t.Fatalf("wrong password: %s", l)
		}
		delays = append(delays, time.Since(begin))
	}
	if delays[2] < 4*time.Millisecond {
		t.Errorf("delays %v do not grow", delays)
	}
	r.send(`g3 LOGIN "mario@pec.example.it" "guess"`)
	if !r.closed(10 * time.Second) {
		t.Error("connection open after too many failures")
	}
	ok := f.login(t, nil)
	if _, err := ok.Select("INBOX", nil).Wait(); err != nil {
		t.Error(err)
	}
	if n := strings.Count(logs.String(), "login failed"); n != 4 {
		t.Errorf("%d failures logged, want 4:\n%s", n, logs.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAppendLimit: a message larger than MaxAppendSize is refused before
// its bytes are read.
func TestAppendLimit(t *testing.T) {
	f := start(t, nil, &Options{MaxAppendSize: 100})
	r := f.raw(t)
	r.send(`a0 LOGIN "mario@pec.example.it" "segreta"`)
	r.until("a0 OK")
	r.send("a1 APPEND INBOX {200}")
	if l := r.until("a1 "); !strings.Contains(l, "NO") {
		t.Errorf("APPEND past the limit: %s", l)
	}
	r.send("a2 APPEND INBOX {5+}\r\nHello")
	r.until("a2 OK")
}

// TestMaxConnections: past the bound a connection is answered BYE; once a
// session ends, a new one is served.
func TestMaxConnections(t *testing.T) {
	f := start(t, nil, &Options{MaxConnections: 2})
	a := f.raw(t)
	f.raw(t)
	c, err := tls.Dial("tcp", f.imaps, f.cert.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	third := &raw{t: t, c: c, r: bufio.NewReader(c)}
	if l := third.until("* "); !strings.HasPrefix(l, "* BYE") {
		t.Errorf("third connection: %s", l)
	}
	a.send("z LOGOUT")
	a.until("z OK")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c, err := tls.Dial("tcp", f.imaps, f.cert.ClientConfig())
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		l, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if strings.HasPrefix(l, "* OK") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still refused after a session ended: %q", l)
		}
	}
}
