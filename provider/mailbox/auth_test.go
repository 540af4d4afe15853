package mailbox

import (
	"context"
	"errors"
	"testing"
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
