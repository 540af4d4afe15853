package pop3

import (
	"bufio"
	"bytes"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMalformedCommands(t *testing.T) {
	f := start(t, nil)
	f.deliver(t, msg1)
	c := f.dialTLS(t)
	for _, line := range []string{"", "X", "TOOLONGKW", "US3R x", "RETR 1", "USER", "USER a b c", "PASS x", "AUTH", "AUTH CRAM-MD5", "AUTH PLAIN !!!", "\x00\x01\x02"} {
		c.cmd(line, "-ERR")
	}
	c.login()
	for _, line := range []string{"RETR", "RETR 0", "RETR -1", "RETR 99999999999999999999", "TOP 1", "TOP 1 x", "TOP 1 -2", "DELE", "LIST x", "USER again", "STLS"} {
		c.cmd(line, "-ERR")
	}
	c.cmd("STAT", "+OK 1 ")
}

// TestGiantLine: a line past MaxLineLength ends that session; the server
// goes on serving the others.
func TestGiantLine(t *testing.T) {
	f := start(t, &Options{MaxLineLength: 256})
	f.deliver(t, msg1)
	other := f.dialTLS(t)
	other.login()
	c := f.dialTLS(t)
	go c.c.Write([]byte("USER " + strings.Repeat("a", 1<<20) + "\r\n"))
	c.expect("-ERR line too long")
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.r.ReadByte(); err == nil {
		t.Error("session still open after a giant line")
	}
	other.cmd("RETR 1", "+OK")
	other.multi()
}

// TestStall: a client that stops sending is logged out at ReadTimeout.
func TestStall(t *testing.T) {
	f := start(t, &Options{ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond})
	c := f.dialTLS(t)
	start := time.Now()
	c.expect("-ERR autologout")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stalled client cut after %v", d)
	}
	// A stalled TLS handshake is cut too.
	raw, err := net.Dial("tcp", f.pop3s)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := raw.Read(make([]byte, 1)); err == nil {
		t.Error("stalled handshake: connection still open")
	}
}

// TestManyConnections: 1,000 sessions at once, each logging in and
// reading a message.
func TestManyConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 connections")
	}
	f := start(t, &Options{InsecureAuth: true})
	f.deliver(t, msg1)
	const n = 1000
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// Open them all first, so that they are served at the same time.
	for range n {
		c, err := net.Dial("tcp", f.pop3)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, nc := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nc.SetDeadline(time.Now().Add(60 * time.Second))
			script := "USER mario@pec.example.it\r\nPASS segreta\r\nRETR 1\r\nQUIT\r\n"
			if _, err := nc.Write([]byte(script)); err != nil {
				errs <- err
				return
			}
			var all bytes.Buffer
			buf := make([]byte, 4096)
			for {
				k, err := nc.Read(buf)
				all.Write(buf[:k])
				if err != nil {
					break
				}
			}
			if got := all.String(); !strings.Contains(got, "prima riga") || !strings.HasSuffix(got, "+OK bye, 0 messages deleted\r\n") {
				errs <- &net.AddrError{Err: "bad session: " + got}
			}
		}()
	}
	wg.Wait()
	close(errs)
	bad := 0
	for err := range errs {
		if bad == 0 {
			t.Error(err)
		}
		bad++
	}
	if bad > 0 {
		t.Errorf("%d of %d sessions failed", bad, n)
	}
}

// TestPasswordGuessing: wrong passwords in a loop are slowed down, more
// with each failure, logged, and end the session; the right user keeps
// being served meanwhile.
func TestPasswordGuessing(t *testing.T) {
	var logs syncBuffer
	f := start(t, &Options{MaxAuthFailures: 4, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	f.deliver(t, msg1)
	c := f.dialTLS(t)
	var delays []time.Duration
	for i := range 4 {
		c.cmd("USER mario@pec.example.it", "+OK")
		begin := time.Now()
		if i < 3 {
			c.cmd("PASS guess", "-ERR [AUTH]")
		} else {
			c.cmd("PASS guess", "-ERR [AUTH] too many")
		}
		delays = append(delays, time.Since(begin))
	}
	if delays[3] < 8*time.Millisecond {
		t.Errorf("delays %v do not grow", delays)
	}
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.r.ReadByte(); err == nil {
		t.Error("session open after too many failures")
	}
	// The failures follow the user to a new connection.
	c2 := f.dialTLS(t)
	c2.cmd("USER mario@pec.example.it", "+OK")
	begin := time.Now()
	c2.cmd("PASS guess", "-ERR [AUTH]")
	if d := time.Since(begin); d < 16*time.Millisecond {
		t.Errorf("fifth failure of the user waited %v", d)
	}
	ok := f.dialTLS(t)
	ok.login()
	ok.cmd("STAT", "+OK 1 ")
	if n := strings.Count(logs.String(), "login failed"); n != 5 {
		t.Errorf("%d failures logged, want 5:\n%s", n, logs.String())
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

// TestMaxConnections: past the bound a connection is told to come back;
// once a session ends, a new one is served.
func TestMaxConnections(t *testing.T) {
	f := start(t, &Options{MaxConnections: 2})
	a := f.dialPlain(t)
	f.dialPlain(t)
	c, err := net.Dial("tcp", f.pop3)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	third := &conn{t: t, c: c, r: bufio.NewReader(c)}
	third.expect("-ERR [SYS/TEMP]")
	a.cmd("QUIT", "+OK")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c, err := net.Dial("tcp", f.pop3)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		l, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if strings.HasPrefix(l, "+OK") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still refused after a session ended: %q", l)
		}
	}
}
