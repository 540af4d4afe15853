package provider_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
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
	const base, window = 20 * time.Millisecond, 1500 * time.Millisecond
	var logs logLines
	n := providertest.NewNetwork(t, &providertest.Options{
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Configure: func(_ string, c *provider.Config) {
			c.Throttle = &mailbox.Throttle{Base: base, Max: 8 * base, Window: window}
		},
	})
	alpha := n.Provider("alpha")
	alice := alpha.AddUser("alice", "a-pass")
	carol := alpha.AddUser("carol", "c-pass")
	addr, cfg := alpha.Submission, n.ClientTLS()
	login := func(user, pass string) int {
		rc := dialRaw(t, addr, cfg)
		rc.must("EHLO abuse.example", 250)
		defer rc.cmd("QUIT")
		return rc.auth(user, pass)
	}
	// delays returns the delays logged for user's failed logins.
	delays := func(user string) []time.Duration {
		var out []time.Duration
		for _, line := range strings.Split(logs.String(), "\n") {
			var e struct {
				Msg, User string
				Delay     time.Duration
			}
			if json.Unmarshal([]byte(line), &e) == nil && e.Msg == "authentication failed" && e.User == user {
				out = append(out, e.Delay)
			}
		}
		return out
	}

	// Failures of alice, each on a new connection, and carol's right
	// password meanwhile.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 5 {
			if code := login(alice, "guess"+strconv.Itoa(i)); code != 535 {
				t.Errorf("wrong password %d: %d, want 535", i, code)
			}
		}
	}()
	if code := login(carol, "c-pass"); code != 235 {
		t.Errorf("carol while alice is throttled: %d, want 235", code)
	}
	wg.Wait()
	got := delays(alice)
	want := []time.Duration{base, 2 * base, 4 * base, 8 * base, 8 * base}
	if !slices.Equal(got, want) {
		t.Fatalf("alice's logged delays %v, want %v", got, want)
	}

	// Failures on one connection grow too, whatever the user name.
	rc := dialRaw(t, addr, cfg)
	rc.must("EHLO abuse.example", 250)
	var conn []time.Duration
	for i := range 3 {
		u := fmt.Sprintf("nobody%d@pec.alpha.example", i)
		if code := rc.auth(u, "x"); code != 535 {
			t.Fatalf("unknown user %d: %d", i, code)
		}
		conn = append(conn, delays(u)...)
	}
	if want := []time.Duration{base, 2 * base, 4 * base}; !slices.Equal(conn, want) {
		t.Fatalf("one connection's logged delays %v, want %v", conn, want)
	}

	// After the window alice's count is forgotten, and her password works.
	time.Sleep(window + window/2)
	if code := login(alice, "guess-again"); code != 535 {
		t.Fatalf("wrong password after the window: %d", code)
	}
	if got := delays(alice); got[len(got)-1] != base {
		t.Fatalf("after the window the delay is %v, want %v", got[len(got)-1], base)
	}
	if code := login(alice, "a-pass"); code != 235 {
		t.Fatalf("alice's right password after the window: %d, want 235", code)
	}
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
