package provider_test

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pecsdk/pec/provider"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
)

func TestAbuseSMTPPasswords(t *testing.T) {
	// b is long enough that a login not slowed down ends well within the
	// longest wait, 32b, even on a loaded machine.
	const b = 40 * time.Millisecond
	var logs logLines
	n := providertest.NewNetwork(t, &providertest.Options{
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Configure: func(_ string, c *provider.Config) {
			c.Throttle = &mailbox.Throttle{Base: b, Max: 32 * b, PeerFailures: 3}
		},
	})
	alpha := n.Provider("alpha")
	alice := alpha.AddUser("alice", "a-pass")
	carol := alpha.AddUser("carol", "c-pass")
	dave := alpha.AddUser("dave", "d-pass")
	erin := alpha.AddUser("erin", "e-pass")
	addr, cfg := alpha.Submission, n.ClientTLS()
	// dial connects from the loopback address from (127.0.0.x) and says
	// EHLO.
	dial := func(from string) *rawConn {
		rc := dialRawFrom(t, from, addr, cfg)
		rc.must("EHLO abuse.example", 250)
		return rc
	}
	login := func(from, user, pass string) int {
		rc := dial(from)
		defer rc.cmd("QUIT")
		return rc.auth(user, pass)
	}
	// delays returns the waits logged for user's failed logins from
	// the address from.
	delays := func(user, from string) []time.Duration {
		var out []time.Duration
		for _, line := range strings.Split(logs.String(), "\n") {
			var e struct {
				Msg, User, Peer string
				Delay           time.Duration
			}
			if json.Unmarshal([]byte(line), &e) == nil && e.Msg == "authentication failed" && e.User == user && strings.HasPrefix(e.Peer, from+":") {
				out = append(out, e.Delay)
			}
		}
		return out
	}

	// Failures of alice, each on a new connection: each attempt waits
	// twice as long as the one before, from the second on.
	for i := range 5 {
		if code := login("127.0.0.1", alice, "guess"+strconv.Itoa(i)); code != 535 {
			t.Fatalf("wrong password %d: %d, want 535", i, code)
		}
	}
	if got, want := delays(alice, "127.0.0.1"), []time.Duration{0, 2 * b, 4 * b, 8 * b, 16 * b}; !slices.Equal(got, want) {
		t.Fatalf("alice's logged delays %v, want %v", got, want)
	}

	// Now alice's right password waits as long as a wrong one: neither
	// is answered before carol, who logs in meanwhile from elsewhere.
	for _, tc := range []struct {
		pass string
		want int
	}{{"guess5", 535}, {"a-pass", 235}} {
		rcA, rcC := dial("127.0.0.1"), dial("127.0.0.2")
		sendAuth(rcA, alice, tc.pass)
		if code := rcC.auth(carol, "c-pass"); code != 235 {
			t.Fatalf("carol while alice is throttled: %d, want 235", code)
		}
		if rcA.answered() {
			t.Fatalf("alice's %s answered before carol's login, from another address", tc.pass)
		}
		if code, text := rcA.reply(); code != tc.want {
			t.Fatalf("alice's %s: %d %s, want %d", tc.pass, code, text, tc.want)
		}
		rcA.cmd("QUIT")
		rcC.cmd("QUIT")
	}
	if got := delays(alice, "127.0.0.1"); got[len(got)-1] != 32*b {
		t.Fatalf("alice's sixth failure waited %v, want %v", got[len(got)-1], 32*b)
	}
	// (127.0.0.1 itself is now slowed down for any user: see below.)
	if code := login("127.0.0.6", alice, "x"); code != 535 || !slices.Equal(delays(alice, "127.0.0.6"), []time.Duration{0}) {
		t.Fatalf("after her success alice's count starts again: %d, delays %v", code, delays(alice, "127.0.0.6"))
	}

	// An address that failed for PeerFailures users is slowed down for
	// any user, on any connection; another address is not.
	for i := range 3 {
		u := fmt.Sprintf("nobody%d@pec.alpha.example", i)
		if code := login("127.0.0.3", u, "x"); code != 535 {
			t.Fatalf("unknown user %d: %d", i, code)
		}
	}
	login("127.0.0.3", dave, "y")
	login("127.0.0.4", dave, "y")
	if got := delays(dave, "127.0.0.3"); !slices.Equal(got, []time.Duration{2 * b}) {
		t.Errorf("dave's first failure from the guessing address waited %v, want [%v]", got, 2*b)
	}
	if got := delays(dave, "127.0.0.4"); !slices.Equal(got, []time.Duration{2 * b}) {
		t.Errorf("dave's second failure, from another address, waited %v, want [%v] (his own count)", got, 2*b)
	}

	// Parallel connections do not multiply the guesses: with erin's wait
	// at its longest, one attempt of many sent together is checked, the
	// others are refused with 454 unchecked.
	for range 5 {
		login("127.0.0.5", erin, "z")
	}
	const parallel = 8
	var rcs []*rawConn
	for i := range parallel {
		rcs = append(rcs, dial(fmt.Sprintf("127.0.1.%d", i+1)))
	}
	for _, rc := range rcs {
		sendAuth(rc, erin, "z")
	}
	codes := map[int]int{}
	for _, rc := range rcs {
		code, _ := rc.reply()
		codes[code]++
	}
	if codes[535] < 1 || codes[535] > 2 || codes[535]+codes[454] != parallel {
		t.Errorf("%d parallel guesses answered %v, want one or two 535 and 454 for the others", parallel, codes)
	}
	if !strings.Contains(logs.String(), `"msg":"authentication refused: too many attempts","user":"`+erin+`","peer":"127.0.1.`) {
		t.Error("refused attempts not logged with user and peer")
	}
}

// dialRawFrom is dialRaw from the local address from.
func dialRawFrom(t *testing.T, from, addr string, cfg *tls.Config) *rawConn {
	t.Helper()
	d := &net.Dialer{Timeout: hangGuard, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
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

// sendAuth sends AUTH PLAIN without reading the reply.
func sendAuth(rc *rawConn, user, pass string) {
	rc.c.SetWriteDeadline(time.Now().Add(hangGuard))
	rc.c.Write([]byte("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)) + "\r\n"))
}

// answered says whether a reply is waiting to be read.
func (rc *rawConn) answered() bool {
	rc.c.SetReadDeadline(time.Now().Add(time.Millisecond))
	_, err := rc.r.Peek(1)
	return err == nil
}

// logLines is a slog handler's output, safe for concurrent writes.
type logLines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAbuseIMAPPasswords: at the IMAP server the throttle works as at
// submission: after two failures of alice (its default Base of 250 ms
// doubled twice: 1 s), her right password is not answered before bob's
// login from another address, which is not slowed down.
func TestAbuseIMAPPasswords(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	alpha := n.Provider("alpha")
	alice := alpha.AddUser("alice", "a-pass")
	bob := alpha.AddUser("bob", "b-pass")
	dial := func(from string) *imapConn {
		d := &net.Dialer{Timeout: hangGuard, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := tls.DialWithDialer(d, "tcp", alpha.IMAP, n.ClientTLS())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		ic := &imapConn{rawConn{t: t, c: c, r: bufio.NewReader(c)}}
		if line := ic.line(); !strings.HasPrefix(line, "* OK") {
			t.Fatalf("greeting %q", line)
		}
		return ic
	}
	for i := range 2 {
		ic := dial("127.0.0.1")
		ic.send(fmt.Sprintf(`a LOGIN "%s" "guess%d"`, alice, i))
		if line := ic.tagged("a"); !strings.HasPrefix(line, "a NO") {
			t.Fatalf("wrong password %d: %q", i, line)
		}
	}
	ia, ib := dial("127.0.0.1"), dial("127.0.0.2")
	ia.send(`a LOGIN "` + alice + `" "a-pass"`)
	ib.send(`b LOGIN "` + bob + `" "b-pass"`)
	if line := ib.tagged("b"); !strings.HasPrefix(line, "b OK") {
		t.Fatalf("bob: %q", line)
	}
	if ia.answered() {
		t.Fatal("alice's right password answered before bob's login, from another address")
	}
	if line := ia.tagged("a"); !strings.HasPrefix(line, "a OK") {
		t.Fatalf("alice's right password: %q", line)
	}
}

// imapConn is an IMAP client that writes whatever it is given.
type imapConn struct{ rawConn }

func (ic *imapConn) send(line string) {
	ic.c.SetWriteDeadline(time.Now().Add(hangGuard))
	ic.c.Write([]byte(line + "\r\n"))
}

// line returns the next line.
func (ic *imapConn) line() string {
	ic.c.SetReadDeadline(time.Now().Add(hangGuard))
	l, err := ic.r.ReadString('\n')
	if err != nil {
		ic.t.Fatalf("read: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

// tagged returns the next line tagged tag, skipping untagged ones.
func (ic *imapConn) tagged(tag string) string {
	for {
		if l := ic.line(); strings.HasPrefix(l, tag+" ") {
			return l
		}
	}
}
