package mailbox

import (
	"context"
	"sync"
	"time"
)

// Throttle slows password guessing down: after each failed login it
// makes the connection wait, longer with each failure of that connection
// and of that user name (from any connection), doubling from Base up to
// Max. A user's count is forgotten after Window without failures or on a
// success. The zero Throttle uses the defaults; it is safe for concurrent
// use and meant to be shared by every server of a provider.
type Throttle struct {
	Base   time.Duration // first delay; default 250ms
	Max    time.Duration // longest delay; default 15s
	Window time.Duration // default 15 minutes

	// MaxUsers bounds the user names remembered; past it the oldest
	// are forgotten. Default 100,000.
	MaxUsers int

	mu    sync.Mutex
	users map[string]*failures
}

type failures struct {
	n    int
	last time.Time
}

// Fail records a failed login for user, the connFailures-th on its
// connection, and waits the delay due, or until ctx is done. It returns
// the delay chosen.
func (t *Throttle) Fail(ctx context.Context, user string, connFailures int) (time.Duration, error) {
	n := t.record(user)
	if connFailures > n {
		n = connFailures
	}
	d := t.delay(n)
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return d, ctx.Err()
	case <-timer.C:
		return d, nil
	}
}

// Succeed forgets user's failures.
func (t *Throttle) Succeed(user string) {
	t.mu.Lock()
	delete(t.users, user)
	t.mu.Unlock()
}

func (t *Throttle) record(user string) int {
	now := time.Now()
	window := t.Window
	if window <= 0 {
		window = 15 * time.Minute
	}
	maxUsers := t.MaxUsers
	if maxUsers <= 0 {
		maxUsers = 100_000
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.users == nil {
		t.users = make(map[string]*failures)
	}
	f := t.users[user]
	if f == nil || now.Sub(f.last) > window {
		if len(t.users) >= maxUsers {
			t.prune(now, window, maxUsers)
		}
		f = &failures{}
		t.users[user] = f
	}
	f.n++
	f.last = now
	return f.n
}

// prune drops expired entries, then, if still full, the older half.
func (t *Throttle) prune(now time.Time, window time.Duration, maxUsers int) {
	var oldest time.Time
	for u, f := range t.users {
		if now.Sub(f.last) > window {
			delete(t.users, u)
		} else if oldest.IsZero() || f.last.Before(oldest) {
			oldest = f.last
		}
	}
	if len(t.users) < maxUsers {
		return
	}
	mid := oldest.Add(now.Sub(oldest) / 2)
	for u, f := range t.users {
		if !f.last.After(mid) {
			delete(t.users, u)
		}
	}
}

func (t *Throttle) delay(n int) time.Duration {
	base, max := t.Base, t.Max
	if base <= 0 {
		base = 250 * time.Millisecond
	}
	if max <= 0 {
		max = 15 * time.Second
	}
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d
}
