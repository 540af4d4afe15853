package web

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pecsdk/pec/sample"
)

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestSessionExpiry(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []time.Duration // uses of the session, each after this pause
		want  int             // status of the last use
	}{
		{"used within the idle limit", []time.Duration{29 * time.Minute}, http.StatusOK},
		{"idle too long", []time.Duration{31 * time.Minute}, http.StatusSeeOther},
		{"kept alive", []time.Duration{20 * time.Minute, 20 * time.Minute, 20 * time.Minute}, http.StatusOK},
		{"past the absolute limit", []time.Duration{25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute}, http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: time.Now()}
			f := newFixture(t, &Options{Now: clk.now, IdleTimeout: 30 * time.Minute, MaxSessionAge: 2 * time.Hour})
			c := f.browser(t)
			login(t, c, f.http.URL, sample.Alice, alicePass)
			code := 0
			for _, d := range tc.steps {
				clk.add(d)
				code, _, _ = get(t, c, f.http.URL, "/")
			}
			if code != tc.want {
				t.Errorf("last use: %d, want %d", code, tc.want)
			}
		})
	}
}

func TestLoginTokenExpiry(t *testing.T) {
	clk := &clock{t: time.Now()}
	f := newFixture(t, &Options{Now: clk.now, LoginTokens: true})
	p, err := f.srv.LoginToken(sample.Alice, "/")
	if err != nil {
		t.Fatal(err)
	}
	clk.add(3 * time.Minute)
	if code, _, _ := get(t, f.browser(t), f.http.URL, p); code != http.StatusForbidden {
		t.Fatalf("login link 3 minutes old: %d, want 403", code)
	}
}
