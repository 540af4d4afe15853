package mailbox

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestAccounts(t *testing.T) {
	ctx := context.Background()
	a := NewAccounts(&AccountsOptions{Iterations: 1000})
	a.Set("mario", "segreta")
	for _, tc := range []struct {
		user, pass string
		ok         bool
	}{
		{"mario", "segreta", true},
		{"mario", "Segreta", false},
		{"mario", "", false},
		{"luigi", "segreta", false},
		{"", "", false},
	} {
		err := a.Authenticate(ctx, tc.user, tc.pass)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrAuth)) {
			t.Errorf("Authenticate(%q, %q) = %v", tc.user, tc.pass, err)
		}
	}
	a.Delete("mario")
	if err := a.Authenticate(ctx, "mario", "segreta"); !errors.Is(err, ErrAuth) {
		t.Errorf("deleted account: %v", err)
	}
}

func TestThrottle(t *testing.T) {
	th := &Throttle{Base: time.Millisecond, Max: 8 * time.Millisecond, MaxUsers: 4}
	ctx := context.Background()
	var got []time.Duration
	for i := 1; i <= 5; i++ {
		d, err := th.Fail(ctx, "mario", 1)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d)
	}
	want := []time.Duration{1, 2, 4, 8, 8}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("delays = %v", got)
		}
	}
	// Another user starts low, but a connection's own count raises it.
	if d, _ := th.Fail(ctx, "luigi", 3); d != 4*time.Millisecond {
		t.Errorf("luigi, third failure of the connection: %v", d)
	}
	th.Succeed("mario")
	if d, _ := th.Fail(ctx, "mario", 1); d != time.Millisecond {
		t.Errorf("after success: %v", d)
	}
	for _, u := range []string{"a", "b", "c", "d", "e", "f"} {
		th.Fail(ctx, u, 1)
	}
	if n := len(th.users); n > 4 {
		t.Errorf("%d users remembered, bound 4", n)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := (&Throttle{Base: time.Hour}).Fail(cctx, "x", 1); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled wait = %v", err)
	}
}
