package mailbox

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestThrottleDelays(t *testing.T) {
	const b = time.Millisecond
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	// fail records n failures of user from peer at t0.
	fail := func(th *Throttle, user, peer string, n int) {
		for range n {
			th.record(t0, userKey(user))
			if k := peerKey(peer); k != "" {
				th.record(t0, k)
			}
		}
	}
	type attempt struct {
		user, peer string
		at         time.Duration // after t0
		want       time.Duration
		err        error
	}
	for _, tc := range []struct {
		name  string
		setup func(*Throttle)
		tries []attempt
	}{
		{"no failures, no wait", nil, []attempt{{"mario", "192.0.2.1:1", 0, 0, nil}}},
		{"each failure doubles the wait, up to Max", func(th *Throttle) { fail(th, "mario", "", 1) }, []attempt{
			{"mario", "", 0, 2 * b, nil},
		}},
		{"capped", func(th *Throttle) { fail(th, "mario", "", 6) }, []attempt{{"mario", "", 0, 16 * b, nil}}},
		{"user names are not case-sensitive", func(th *Throttle) { fail(th, "Mario", "", 2) }, []attempt{{"mario", "", 0, 4 * b, nil}}},
		{"another user is not slowed", func(th *Throttle) { fail(th, "mario", "192.0.2.1:1", 3) }, []attempt{
			{"luigi", "192.0.2.1:2", 0, 0, nil},
			{"luigi", "192.0.2.9:2", 0, 0, nil},
		}},
		{"an address past PeerFailures is slowed for every user", func(th *Throttle) {
			for i := range 4 {
				fail(th, fmt.Sprint("u", i), "192.0.2.1:1", 1)
			}
		}, []attempt{
			{"luigi", "192.0.2.1:7", 0, 2 * b, nil},
			{"luigi", "192.0.2.2:7", 0, 0, nil},
		}},
		{"IPv6 by its /64", func(th *Throttle) {
			for i := range 4 {
				fail(th, fmt.Sprint("u", i), "[2001:db8:1:2::1]:1", 1)
			}
		}, []attempt{
			{"luigi", "[2001:db8:1:2:ffff::9]:7", 0, 2 * b, nil},
			{"luigi", "[2001:db8:1:3::1]:7", 0, 0, nil},
		}},
		{"parallel attempts are answered one after the other; past Max, refused", func(th *Throttle) { fail(th, "mario", "", 2) }, []attempt{
			{"mario", "192.0.2.1:1", 0, 4 * b, nil},
			{"mario", "192.0.2.2:1", 0, 8 * b, nil},
			{"mario", "192.0.2.3:1", 0, 12 * b, nil},
			{"mario", "192.0.2.4:1", 0, 16 * b, nil},
			{"mario", "192.0.2.5:1", 0, 0, ErrThrottled},
			{"mario", "192.0.2.5:1", 12 * b, 8 * b, nil}, // after the queue drained some
		}},
		{"forgotten after the window", func(th *Throttle) { fail(th, "mario", "", 3) }, []attempt{{"mario", "", time.Minute + b, 0, nil}}},
		{"forgotten on a success", func(th *Throttle) { fail(th, "mario", "", 3); th.Succeed("mario") }, []attempt{{"mario", "", 0, 0, nil}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			th := &Throttle{Base: b, Max: 16 * b, Window: time.Minute, PeerFailures: 4}
			if tc.setup != nil {
				tc.setup(th)
			}
			for i, a := range tc.tries {
				got, err := th.admit(t0.Add(a.at), userKey(a.user), peerKey(a.peer))
				if got != a.want || !errors.Is(err, a.err) {
					t.Errorf("attempt %d (%s from %s): %v, %v; want %v, %v", i, a.user, a.peer, got, err, a.want, a.err)
				}
			}
		})
	}
}

func TestThrottleBounded(t *testing.T) {
	th := &Throttle{MaxUsers: 64}
	for i := range 10_000 {
		th.Fail(fmt.Sprint("user", i), fmt.Sprintf("198.51.%d.%d:25", i/256%256, i%256))
		if n := len(th.entries); n > 64 {
			t.Fatalf("after %d failures %d entries remembered, bound 64", i+1, n)
		}
	}
	if th.Fail("user9999", "") != 2 {
		t.Error("the latest user was forgotten")
	}
}

func TestThrottleWait(t *testing.T) {
	th := &Throttle{Base: time.Hour, Max: 4 * time.Hour}
	// Without failures nothing waits.
	if d, err := th.Wait(context.Background(), "mario", "192.0.2.1:1"); d != 0 || err != nil {
		t.Fatalf("first attempt: %v, %v", d, err)
	}
	th.Fail("mario", "192.0.2.1:1")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if d, err := th.Wait(ctx, "mario", "192.0.2.1:1"); d != 2*time.Hour || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled wait = %v, %v", d, err)
	}
}
