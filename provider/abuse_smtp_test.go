package provider_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pecsdk/pec/provider"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
)

// hangGuard bounds every wait of these tests: far longer than any timeout
// configured, it only turns a hang into a failure.
const hangGuard = 30 * time.Second

// rawConn is an SMTP client that writes whatever it is given.
type rawConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

// dialRaw connects to addr (with implicit TLS when cfg is not nil) and
// reads the greeting, which must be 220.
func dialRaw(t *testing.T, addr string, cfg *tls.Config) *rawConn {
	t.Helper()
	var c net.Conn
	var err error
	if cfg != nil {
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: hangGuard}, "tcp", addr, cfg)
	} else {
		c, err = net.DialTimeout("tcp", addr, hangGuard)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rc := &rawConn{t: t, c: c, r: bufio.NewReader(c)}
	if code, text := rc.reply(); code != 220 {
		t.Fatalf("greeting %d %s", code, text)
	}
	return rc
}

// reply reads one reply, all its lines; code 0 means the connection ended.
func (rc *rawConn) reply() (int, string) {
	rc.c.SetReadDeadline(time.Now().Add(hangGuard))
	var text strings.Builder
	for {
		line, err := rc.r.ReadString('\n')
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				rc.t.Fatalf("no reply within %v", hangGuard)
			}
			return 0, text.String() + line
		}
		text.WriteString(line)
		if len(line) < 4 {
			return 0, text.String()
		}
		if line[3] != '-' {
			code, _ := strconv.Atoi(line[:3])
			return code, text.String()
		}
	}
}

// cmd writes line with CRLF and returns the reply.
func (rc *rawConn) cmd(line string) (int, string) {
	rc.c.SetWriteDeadline(time.Now().Add(hangGuard))
	if _, err := rc.c.Write([]byte(line + "\r\n")); err != nil {
		return 0, err.Error()
	}
	return rc.reply()
}

// must sends line and fails unless the reply has code want.
func (rc *rawConn) must(line string, want int) {
	rc.t.Helper()
	if code, text := rc.cmd(line); code != want {
		rc.t.Fatalf("%.40q: %d %s, want %d", line, code, text, want)
	}
}

// auth logs in with AUTH PLAIN and returns the reply code.
func (rc *rawConn) auth(user, pass string) int {
	code, _ := rc.cmd("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)))
	return code
}

// waitCut waits until the server ends the connection, failing if it is
// still open after hangGuard.
func (rc *rawConn) waitCut() {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(hangGuard))
	buf := make([]byte, 4096)
	for {
		if _, err := rc.c.Read(buf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				rc.t.Fatalf("the server kept a stalled connection open for %v", hangGuard)
			}
			return
		}
	}
}

// listener is one of a provider's SMTP servers as the tests reach it.
type listener struct {
	name  string
	addr  string
	tls   *tls.Config      // implicit TLS
	login func(*rawConn)   // what must come before MAIL
	from  string           // a sender it accepts
	rcpt  string           // a recipient it accepts
	other func(int) string // the i-th of many recipients it accepts
}

// listeners returns alpha's submission point (alice logged in) and beta's
// incoming point, both sending to bob at beta.
func listeners(t *testing.T, n *providertest.Network) []listener {
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	return []listener{
		{
			name: "submission", addr: alpha.Submission, tls: n.ClientTLS(),
			login: func(rc *rawConn) {
				if code := rc.auth(alice, "a-pass"); code != 235 {
					t.Fatalf("auth: %d", code)
				}
			},
			from: alice, rcpt: bob,
			other: func(i int) string { return fmt.Sprintf("u%d@pec.beta.example", i) },
		},
		{
			name: "incoming", addr: beta.Incoming, login: func(*rawConn) {},
			from: "someone@ordinary.example", rcpt: bob,
			other: func(i int) string { return fmt.Sprintf("u%d@pec.beta.example", i) },
		},
	}
}

func TestAbuseSMTPMalformed(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	for _, l := range listeners(t, n) {
		cases := []struct {
			name string
			prep []string // lines that must get 2xx or 3xx first
			line string   // refused, with 4xx or 5xx
		}{
			{"garbage", nil, "HELLO? IS IT ME"},
			{"nul", nil, "NO\x00OP\x00"},
			{"8bit", nil, "\xff\xfe\xfd\x80 junk"},
			{"rcpt first", nil, "RCPT TO:<" + l.rcpt + ">"},
			{"data first", nil, "DATA"},
			{"mail no brackets", nil, "MAIL FROM:garbage"},
			{"mail empty", nil, "MAIL FROM:"},
			{"mail bad size", nil, "MAIL FROM:<" + l.from + "> SIZE=abc"},
			{"mail huge size", nil, "MAIL FROM:<" + l.from + "> SIZE=99999999999999999999"},
			{"mail bad body", nil, "MAIL FROM:<" + l.from + "> BODY=9BIT"},
			{"mail unknown param", nil, "MAIL FROM:<" + l.from + "> X=Y"},
			{"mail nested", []string{"MAIL FROM:<" + l.from + ">"}, "MAIL FROM:<" + l.from + ">"},
			{"rcpt no brackets", []string{"MAIL FROM:<" + l.from + ">"}, "RCPT TO:" + l.rcpt + " junk"},
			{"rcpt 8bit", []string{"MAIL FROM:<" + l.from + ">"}, "RCPT TO:<\xff\xfe@example>"},
			{"data without rcpt", []string{"MAIL FROM:<" + l.from + ">"}, "DATA"},
			{"bdat", []string{"MAIL FROM:<" + l.from + ">", "RCPT TO:<" + l.rcpt + ">"}, "BDAT x"},
			{"auth garbage", nil, "AUTH PLAIN !!!notbase64"},
			{"auth unknown", nil, "AUTH CRAM-MD5"},
		}
		if l.name == "incoming" { // no relaying
			cases = append(cases, struct {
				name string
				prep []string
				line string
			}{"rcpt elsewhere", []string{"MAIL FROM:<" + l.from + ">"}, "RCPT TO:<x@elsewhere.example>"})
		}
		for _, c := range cases {
			t.Run(l.name+"/"+c.name, func(t *testing.T) {
				rc := dialRaw(t, l.addr, l.tls)
				rc.must("EHLO abuse.example", 250)
				if !strings.HasPrefix(c.line, "AUTH") {
					l.login(rc)
				}
				for _, p := range c.prep {
					if code, text := rc.cmd(p); code/100 != 2 && code/100 != 3 {
						t.Fatalf("%q: %d %s", p, code, text)
					}
				}
				if code, text := rc.cmd(c.line); code/100 != 4 && code/100 != 5 {
					t.Fatalf("%q: %d %s, want it refused", c.line, code, text)
				}
				rc.must("RSET", 250)
				rc.must("NOOP", 250)
				rc.must("QUIT", 221)
			})
		}
		t.Run(l.name+"/many rcpt", func(t *testing.T) {
			rc := dialRaw(t, l.addr, l.tls)
			rc.must("EHLO abuse.example", 250)
			l.login(rc)
			rc.must("MAIL FROM:<"+l.from+">", 250)
			ok := 0
			for i := range 1000 {
				code, text := rc.cmd("RCPT TO:<" + l.other(i) + ">")
				switch code {
				case 250:
					ok++
				case 452:
				default:
					t.Fatalf("rcpt %d: %d %s", i, code, text)
				}
			}
			if ok != 100 { // the default MaxRecipients
				t.Errorf("%d recipients accepted, want 100", ok)
			}
			rc.must("RSET", 250)
			rc.must("QUIT", 221)
		})
		t.Run(l.name+"/long command", func(t *testing.T) {
			rc := dialRaw(t, l.addr, l.tls)
			rc.must("EHLO abuse.example", 250)
			go func() { // the server may stop reading half way
				rc.c.SetWriteDeadline(time.Now().Add(hangGuard))
				rc.c.Write([]byte("NOOP " + strings.Repeat("a", 1<<20) + "\r\n"))
			}()
			if code, text := rc.reply(); code/100 != 5 {
				t.Fatalf("1 MiB command: %d %s, want 5xx", code, text)
			}
			rc.waitCut()
			rc = dialRaw(t, l.addr, l.tls) // and the next client is served
			rc.must("EHLO abuse.example", 250)
			rc.must("QUIT", 221)
		})
	}
	// Nothing of the above was accepted.
	for _, name := range []string{"alpha", "beta"} {
		waitIdle(t, n.Provider(name))
	}
	if msgs, _ := n.Provider("beta").Messages("bob@pec.beta.example", mailbox.Inbox); len(msgs) != 0 {
		t.Fatalf("bob got %d messages", len(msgs))
	}
}

// TestAbuseSMTPLongDataLine sends a message with a 1 MiB line to each
// listener: refused or accepted, what is accepted reaches bob.
func TestAbuseSMTPLongDataLine(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	accepted := 0
	for _, l := range listeners(t, n) {
		t.Run(l.name, func(t *testing.T) {
			rc := dialRaw(t, l.addr, l.tls)
			rc.must("EHLO abuse.example", 250)
			l.login(rc)
			rc.must("MAIL FROM:<"+l.from+">", 250)
			rc.must("RCPT TO:<"+l.rcpt+">", 250)
			rc.must("DATA", 354)
			msg := "From: " + l.from + "\r\nTo: " + l.rcpt + "\r\nSubject: lunga\r\n\r\n" + strings.Repeat("x", 1<<20) + "\r\n."
			code, text := rc.cmd(msg)
			t.Logf("%s: %d %s", l.name, code, text)
			switch {
			case code == 250:
				accepted++
			case code/100 == 5 || code == 0:
			default:
				t.Fatalf("%d %s", code, text)
			}
			rc = dialRaw(t, l.addr, l.tls)
			rc.must("EHLO abuse.example", 250)
		})
	}
	for _, name := range []string{"alpha", "beta"} {
		waitIdle(t, n.Provider(name))
	}
	msgs, _ := n.Provider("beta").Messages("bob@pec.beta.example", mailbox.Inbox)
	if len(msgs) != accepted {
		t.Fatalf("bob got %d messages, %d were accepted", len(msgs), accepted)
	}
}

func TestAbuseSMTPTooLarge(t *testing.T) {
	const limit = 64 << 10
	n := providertest.NewNetwork(t, &providertest.Options{
		Configure: func(_ string, c *provider.Config) { c.MaxTotal = limit },
	})
	for _, l := range listeners(t, n) {
		t.Run(l.name, func(t *testing.T) {
			rc := dialRaw(t, l.addr, l.tls)
			rc.must("EHLO abuse.example", 250)
			l.login(rc)
			rc.must("MAIL FROM:<"+l.from+"> SIZE="+strconv.Itoa(2*limit), 552)
			rc.must("MAIL FROM:<"+l.from+">", 250)
			rc.must("RCPT TO:<"+l.rcpt+">", 250)
			rc.must("DATA", 354)
			body := strings.Repeat(strings.Repeat("y", 76)+"\r\n", 2*limit/78)
			rc.must("From: "+l.from+"\r\nTo: "+l.rcpt+"\r\nSubject: grande\r\n\r\n"+body+".", 552)
			rc.must("NOOP", 250) // the session goes on
			rc.must("QUIT", 221)
		})
	}
	for _, name := range []string{"alpha", "beta"} {
		p := n.Provider(name)
		sts, err := p.Spool.Pending(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(sts) != 0 {
			t.Errorf("%s spooled %d items of a message refused", name, len(sts))
		}
	}
	if msgs, _ := n.Provider("beta").Messages("bob@pec.beta.example", mailbox.Inbox); len(msgs) != 0 {
		t.Fatalf("bob got %d messages", len(msgs))
	}
}

func TestAbuseSMTPStall(t *testing.T) {
	n := providertest.NewNetwork(t, &providertest.Options{
		Configure: func(_ string, c *provider.Config) { c.CommandTimeout = time.Second },
	})
	ls := listeners(t, n)
	var stalled []*rawConn
	for _, l := range ls {
		// mid-command
		rc := dialRaw(t, l.addr, l.tls)
		rc.c.Write([]byte("EHLO half"))
		stalled = append(stalled, rc)
		// mid-DATA
		rc = dialRaw(t, l.addr, l.tls)
		rc.must("EHLO abuse.example", 250)
		l.login(rc)
		rc.must("MAIL FROM:<"+l.from+">", 250)
		rc.must("RCPT TO:<"+l.rcpt+">", 250)
		rc.must("DATA", 354)
		rc.c.Write([]byte("Subject: a met\r\n\r\nsolo una par"))
		stalled = append(stalled, rc)
		// a DATA that drips a byte at a time, never ending
		rc = dialRaw(t, l.addr, l.tls)
		rc.must("EHLO abuse.example", 250)
		l.login(rc)
		rc.must("MAIL FROM:<"+l.from+">", 250)
		rc.must("RCPT TO:<"+l.rcpt+">", 250)
		rc.must("DATA", 354)
		go func(c net.Conn) {
			for range 10 * int(hangGuard/(100*time.Millisecond)) { // bounded, past hangGuard
				c.SetWriteDeadline(time.Now().Add(hangGuard))
				if _, err := c.Write([]byte("z")); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}(rc.c)
		stalled = append(stalled, rc)
		// mid-TLS: a TCP connection that never ends its handshake
		c, err := net.DialTimeout("tcp", l.addr, hangGuard)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if l.tls != nil {
			c.Write([]byte{0x16, 0x03, 0x01, 0x00, 0xff}) // a record header, then nothing
			stalled = append(stalled, &rawConn{t: t, c: c, r: bufio.NewReader(c)})
		} else {
			rc := &rawConn{t: t, c: c, r: bufio.NewReader(c)}
			rc.reply()
			rc.must("EHLO abuse.example", 250)
			rc.must("STARTTLS", 220)
			c.Write([]byte{0x16, 0x03, 0x01})
			stalled = append(stalled, rc)
		}
	}
	// Meanwhile a well-behaved client is served on each listener.
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice, bob := ls[0].from, ls[0].rcpt
	if err := rawSubmit(t, n, alpha, alice, "a-pass", alice, []string{bob}, []byte("From: "+alice+"\r\nTo: "+bob+"\r\nSubject: ok\r\n\r\nok\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := pushIncoming(t, n, beta, "x@ordinary.example", []string{bob}, []byte("Subject: ok\r\n\r\nok\r\n")); err != nil {
		t.Fatal(err)
	}
	// A stalled client is cut after CommandTimeout; one that drips
	// bytes, after a few of them (its drips are then taken for bad
	// commands, and too many of those end the session).
	for _, rc := range stalled {
		rc.waitCut()
	}
	waitMessages(t, alpha, alice, mailbox.Inbox, 2) // acceptance and delivery
	waitMessages(t, beta, bob, mailbox.Inbox, 2)    // the envelope and the anomaly
	waitIdle(t, alpha)
	waitIdle(t, beta)
	if msgs, _ := beta.Messages(bob, mailbox.Inbox); len(msgs) != 2 {
		t.Fatalf("bob got %d messages, want 2: a stalled DATA was kept", len(msgs))
	}
}

func TestAbuseSMTPManyConnections(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	ls := listeners(t, n)
	const many = 1000
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
		bad   []string
	)
	sem := make(chan struct{}, 100)
	for i := range many {
		l := ls[i%2] // half on each listener, with TLS on submission
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", l.addr, hangGuard)
			if err != nil {
				mu.Lock()
				bad = append(bad, fmt.Sprintf("dial %d: %v", i, err))
				mu.Unlock()
				return
			}
			c.SetDeadline(time.Now().Add(hangGuard))
			if l.tls != nil {
				c = tls.Client(c, l.tls)
			}
			line, err := bufio.NewReader(c).ReadString('\n')
			mu.Lock()
			conns = append(conns, c)
			if err != nil || !(strings.HasPrefix(line, "220 ") || strings.HasPrefix(line, "421 ")) {
				bad = append(bad, fmt.Sprintf("%s conn %d: %q %v", l.name, i, line, err))
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	if len(bad) > 0 {
		t.Fatalf("%d of %d connections without a greeting or 421, e.g. %s", len(bad), many, bad[0])
	}
	// All of them open, a well-behaved client is served on both listeners.
	beta := n.Provider("beta")
	if err := pushIncoming(t, n, beta, "x@ordinary.example", []string{ls[1].rcpt}, []byte("Subject: ok\r\n\r\nok\r\n")); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, ls[0].addr, ls[0].tls)
	rc.must("EHLO abuse.example", 250)
	ls[0].login(rc)
	waitMessages(t, beta, ls[1].rcpt, mailbox.Inbox, 1)
}

// TestAbuseSMTPSessionLife: a client that paces its commands, or its BDAT
// chunks, just inside CommandTimeout is cut when its session has lasted
// ten CommandTimeouts, on both listeners.
func TestAbuseSMTPSessionLife(t *testing.T) {
	const timeout = time.Second
	n := providertest.NewNetwork(t, &providertest.Options{
		Configure: func(_ string, c *provider.Config) { c.CommandTimeout = timeout },
	})
	ls := listeners(t, n)
	for _, drip := range []struct {
		name  string
		start func(*rawConn, listener)
		line  string // sent every pace, then its reply read
		want  int
	}{
		{"NOOP", func(*rawConn, listener) {}, "NOOP", 250},
		{"BDAT", func(rc *rawConn, l listener) {
			rc.must("MAIL FROM:<"+l.from+">", 250)
			rc.must("RCPT TO:<"+l.rcpt+">", 250)
		}, "BDAT 3\r\nz", 250}, // the chunk is "z\r\n"
	} {
		for _, l := range ls {
			t.Run(drip.name+"/"+l.name, func(t *testing.T) {
				t.Parallel()
				rc := dialRaw(t, l.addr, l.tls)
				rc.must("EHLO abuse.example", 250)
				l.login(rc)
				drip.start(rc, l)
				begin := time.Now()
				answered, last := 0, 0
				for time.Since(begin) < hangGuard {
					code, _ := rc.cmd(drip.line)
					if last = code; code != drip.want {
						break
					}
					answered++
					time.Sleep(timeout / 3)
				}
				if time.Since(begin) >= hangGuard {
					t.Fatalf("a client pacing %s inside CommandTimeout kept its session for %v", drip.name, hangGuard)
				}
				if answered < 3 {
					t.Fatalf("cut after %d %s, want it served until its session ends", answered, drip.name)
				}
				// A plain connection is told why; one with implicit TLS
				// is closed.
				if want := map[bool]int{true: 421, false: 0}[l.tls == nil]; last != want {
					t.Errorf("the session ended with %d, want %d", last, want)
				}
				rc.waitCut()
			})
		}
	}
	t.Cleanup(func() {
		beta := n.Provider("beta")
		waitIdle(t, beta)
		if msgs, _ := beta.Messages(ls[0].rcpt, mailbox.Inbox); len(msgs) != 0 {
			t.Errorf("bob got %d messages from BDAT transactions cut short", len(msgs))
		}
	})
}
