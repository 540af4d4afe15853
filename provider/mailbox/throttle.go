package mailbox

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// ErrThrottled is returned by Throttle.Wait when so many attempts are
// already waiting for the same user or client address that this one would
// wait longer than Throttle.Max: the password is not to be checked, and the
// client is told to try again later.
var ErrThrottled = errors.New("mailbox: too many login attempts, try again later")

// Throttle slows password guessing down. Servers call Wait before checking
// a password, then Fail or Succeed with the outcome.
//
// Once a user name has failed n times, every attempt for it waits
// Base·2ⁿ (at most Max) before its password is checked, the right one as
// much as a wrong one, so that neither the answer's speed nor cutting the
// wait short tells a guesser anything. The same holds for a client address
// (an IPv6 one by its /64) past PeerFailures failures, whatever the user
// names it tries. Attempts waiting for one user or address are answered one
// after the other, each its delay after the previous, however many
// connections they come on; one that would wait longer than Max is refused
// with ErrThrottled, unchecked. A count is forgotten Window after its last
// failure; a user's also on a success.
//
// The zero Throttle uses the defaults; it is safe for concurrent use and
// meant to be shared by every server of a provider.
type Throttle struct {
	Base   time.Duration // default 250ms
	Max    time.Duration // longest wait; default 15s
	Window time.Duration // default 15 minutes

	// PeerFailures is how many failures a client address may have before
	// its attempts are slowed down; default 10, so that a few users behind
	// one address mistyping do not slow each other down.
	PeerFailures int

	// MaxUsers bounds the user names and client addresses remembered;
	// past it the expired, then the oldest, are forgotten. Default 100,000.
	MaxUsers int

	mu      sync.Mutex
	entries map[string]*failures // "u:" user name or "p:" client address
}

type failures struct {
	n    int       // failures within the window
	last time.Time // of the last failure
	next time.Time // when the last attempt admitted is answered
}

// Wait waits, before the password of user is checked for a client at
// peer ("host:port" or host; "" for none), the delay that their failures
// call for, and returns it: none for a user and an address without
// failures. It returns ErrThrottled at once for an attempt it refuses, and
// ctx's error if ctx ends first.
func (t *Throttle) Wait(ctx context.Context, user, peer string) (time.Duration, error) {
	now := time.Now()
	d, err := t.admit(now, userKey(user), peerKey(peer))
	if err != nil || d <= 0 {
		return d, err
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return d, ctx.Err()
	case <-timer.C:
		return d, nil
	}
}

// admit reserves the next answer slot of each key under attack and returns
// the wait until the latest of them.
func (t *Throttle) admit(now time.Time, user, peer string) (time.Duration, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	window := t.window()
	type slot struct {
		f   *failures
		end time.Time
	}
	var slots [2]slot
	var until time.Time
	for i, k := range [2]string{user, peer} {
		f := t.entries[k]
		if k == "" || f == nil || now.Sub(f.last) > window {
			continue
		}
		n := f.n
		if i == 1 {
			n -= t.peerFailures() - 1
		}
		d := t.delay(n)
		if d <= 0 {
			continue
		}
		start := now
		if f.next.After(start) {
			start = f.next
		}
		slots[i] = slot{f, start.Add(d)}
		if slots[i].end.After(until) {
			until = slots[i].end
		}
	}
	if until.IsZero() {
		return 0, nil
	}
	wait := until.Sub(now)
	if wait > t.max() {
		return 0, ErrThrottled
	}
	for _, s := range slots {
		if s.f != nil {
			s.f.next = s.end
		}
	}
	return wait, nil
}

// Fail records a failed login of user from peer, and returns the user's
// failures within the window, this one included.
func (t *Throttle) Fail(user, peer string) int {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.record(now, userKey(user))
	if k := peerKey(peer); k != "" {
		t.record(now, k)
	}
	return n
}

// Succeed forgets user's failures (its client address's stay).
func (t *Throttle) Succeed(user string) {
	t.mu.Lock()
	delete(t.entries, userKey(user))
	t.mu.Unlock()
}

func (t *Throttle) record(now time.Time, key string) int {
	window := t.window()
	if t.entries == nil {
		t.entries = make(map[string]*failures)
	}
	f := t.entries[key]
	if f == nil {
		maxUsers := t.MaxUsers
		if maxUsers <= 0 {
			maxUsers = 100_000
		}
		if len(t.entries) >= maxUsers {
			t.prune(now, window, maxUsers)
		}
		f = &failures{}
		t.entries[key] = f
	} else if now.Sub(f.last) > window {
		f.n = 0
	}
	f.n++
	f.last = now
	return f.n
}

// prune drops expired entries, then, if still full, the older half.
func (t *Throttle) prune(now time.Time, window time.Duration, maxUsers int) {
	var oldest time.Time
	for k, f := range t.entries {
		if now.Sub(f.last) > window && !f.next.After(now) {
			delete(t.entries, k)
		} else if oldest.IsZero() || f.last.Before(oldest) {
			oldest = f.last
		}
	}
	if len(t.entries) < maxUsers {
		return
	}
	mid := oldest.Add(now.Sub(oldest) / 2)
	for k, f := range t.entries {
		if !f.last.After(mid) {
			delete(t.entries, k)
		}
	}
}

// delay is the wait after n failures: none for n ≤ 0, else Base·2ⁿ up to
// Max.
func (t *Throttle) delay(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	base, max := t.Base, t.max()
	if base <= 0 {
		base = 250 * time.Millisecond
	}
	d := base
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

func (t *Throttle) max() time.Duration {
	if t.Max <= 0 {
		return 15 * time.Second
	}
	return t.Max
}

func (t *Throttle) window() time.Duration {
	if t.Window <= 0 {
		return 15 * time.Minute
	}
	return t.Window
}

func (t *Throttle) peerFailures() int {
	if t.PeerFailures <= 0 {
		return 10
	}
	return t.PeerFailures
}

func userKey(user string) string { return "u:" + strings.ToLower(user) }

// peerKey names a client address: an IPv4 address, an IPv6 address by its
// /64 (one subscriber's), anything else as given.
func peerKey(peer string) string {
	if peer == "" {
		return ""
	}
	host := peer
	if h, _, err := net.SplitHostPort(peer); err == nil {
		host = h
	}
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		if a.Is6() {
			p, _ := a.WithZone("").Prefix(64)
			return "p:" + p.String()
		}
		return "p:" + a.String()
	}
	return "p:" + host
}
