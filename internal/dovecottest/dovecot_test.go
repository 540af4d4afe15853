package dovecottest

import (
	"bufio"
	"crypto/tls"
	"strings"
	"testing"
	"time"
)

func TestStart(t *testing.T) {
	s := Start(t, &Options{
		Users: map[string]string{"u@example.test": "secret"},
		Seed:  map[string][][]byte{"u@example.test": {[]byte("Subject: a\r\n\r\nbody\r\n")}},
	})
	c, err := tls.Dial("tcp", s.POP3S, s.TLS.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	line := func() string { l, _ := r.ReadString('\n'); return l }
	if l := line(); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("greeting %q", l)
	}
	c.Write([]byte("USER u@example.test\r\n"))
	line()
	c.Write([]byte("PASS secret\r\n"))
	if l := line(); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("PASS: %q\n%s", l, s.Log())
	}
	c.Write([]byte("STAT\r\n"))
	if l := line(); !strings.HasPrefix(l, "+OK 1 ") {
		t.Fatalf("STAT: %q", l)
	}
}
