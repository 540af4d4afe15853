package client_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/sample"
)

// stallServer listens on 127.0.0.1 and serves every connection with
// serve, then holds it open until the test ends. It counts connections.
func stallServer(t *testing.T, serve func(c net.Conn, r *bufio.Reader)) (client.Endpoint, *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); l.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			go func() {
				defer c.Close()
				serve(c, bufio.NewReader(c))
				<-done
			}()
		}
	}()
	return endpoint(l.Addr().String(), ""), &n
}

// readLine reads one command line, "" at the end of the connection.
func readLine(r *bufio.Reader) string {
	s, _ := r.ReadString('\n')
	return strings.TrimSpace(s)
}

// speakUntilSTARTTLS greets, answers EHLO with STARTTLS, and reads the
// STARTTLS command.
func speakUntilSTARTTLS(c net.Conn, r *bufio.Reader) bool {
	c.Write([]byte("220 smtp.test ESMTP\r\n"))
	if !strings.HasPrefix(strings.ToUpper(readLine(r)), "EHLO") {
		return false
	}
	c.Write([]byte("250-smtp.test\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n"))
	return strings.EqualFold(readLine(r), "STARTTLS")
}

// TestSubmitTimeoutSetup: SubmitOptions.Timeout bounds the greeting, the
// STARTTLS exchange and the TLS handshake: a server that stalls anywhere
// there fails the send in about Timeout, not go-smtp's five minutes.
func TestSubmitTimeoutSetup(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sec   client.Security
		serve func(c net.Conn, r *bufio.Reader)
	}{
		{"silent, implicit TLS", client.SecurityTLS, func(net.Conn, *bufio.Reader) {}},
		{"silent, STARTTLS", client.SecurityStartTLS, func(net.Conn, *bufio.Reader) {}},
		{"no reply to STARTTLS", client.SecurityStartTLS, func(c net.Conn, r *bufio.Reader) { speakUntilSTARTTLS(c, r) }},
		{"no TLS handshake after STARTTLS", client.SecurityStartTLS, func(c net.Conn, r *bufio.Reader) {
			if speakUntilSTARTTLS(c, r) {
				c.Write([]byte("220 go ahead\r\n"))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep, _ := stallServer(t, tc.serve)
			ep.Security = tc.sec
			d := &client.Draft{From: sample.Alice, To: []string{sample.Bob}, Subject: "s", Text: "t"}
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := client.Send(ctx, d, &client.SubmitOptions{Server: ep, Username: sample.Alice, Timeout: 300 * time.Millisecond})
			el := time.Since(start)
			if err == nil {
				t.Fatal("send succeeded against a stalled server")
			}
			if ctx.Err() != nil || el > 5*time.Second {
				t.Errorf("failed after %v (%v): the timeout did not bound the setup", el, err)
			}
			if !strings.HasPrefix(err.Error(), "client: smtp: "+ep.Addr()) {
				t.Errorf("%q: want it to say client: smtp: and the server", err)
			}
		})
	}
}

// TestUnknownSecurity: a Security other than tls, starttls or empty is an
// error before any connection, never implicit TLS.
func TestUnknownSecurity(t *testing.T) {
	ep, n := stallServer(t, func(net.Conn, *bufio.Reader) {})
	ep.Security = "ssl"
	ctx := context.Background()
	d := &client.Draft{From: sample.Alice, To: []string{sample.Bob}}
	for _, tc := range []struct {
		name string
		do   func() error
	}{
		{"send", func() error {
			_, err := client.Send(ctx, d, &client.SubmitOptions{Server: ep, Username: sample.Alice, Timeout: time.Second})
			return err
		}},
		{"fetch imap", func() error {
			_, err := client.Fetch(ctx, &client.FetchOptions{Server: ep, Username: sample.Alice, Dir: t.TempDir(), Timeout: time.Second})
			return err
		}},
		{"fetch pop3", func() error {
			_, err := client.Fetch(ctx, &client.FetchOptions{Protocol: client.POP3, Server: ep, Username: sample.Alice, Dir: t.TempDir(), Timeout: time.Second})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if !errors.Is(err, client.ErrSecurity) || !strings.Contains(err.Error(), `"ssl"`) {
				t.Errorf("%v: want ErrSecurity naming the mode", err)
			}
		})
	}
	if c := n.Load(); c != 0 {
		t.Errorf("%d connections made with an unknown security mode", c)
	}
}

// TestFetchTimeoutSetup: FetchOptions.Timeout bounds the greeting and the
// TLS handshake of IMAP and POP3, implicit or after STARTTLS / STLS.
func TestFetchTimeoutSetup(t *testing.T) {
	for _, proto := range []client.Protocol{client.IMAP, client.POP3} {
		for _, sec := range []client.Security{client.SecurityTLS, client.SecurityStartTLS} {
			t.Run(string(proto)+"/"+string(sec), func(t *testing.T) {
				ep, _ := stallServer(t, func(net.Conn, *bufio.Reader) {})
				ep.Security = sec
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				start := time.Now()
				_, err := client.Fetch(ctx, &client.FetchOptions{Protocol: proto, Server: ep, Username: sample.Alice,
					Dir: t.TempDir(), Timeout: 300 * time.Millisecond})
				if err == nil || ctx.Err() != nil || time.Since(start) > 5*time.Second {
					t.Errorf("after %v: %v; want a failure within about the timeout", time.Since(start), err)
				}
			})
		}
	}
}
