package client

import (
	"context"
	"errors"
	"testing"

	"github.com/pecsdk/pec/pec/smime"
)

// TestFetchNeedsTrust: a fetch that feeds a tracker must be able to judge
// the signers of the receipts; with nothing to judge by it is refused
// before anything is fetched, unless the tracker accepts unverified evidence.
func TestFetchNeedsTrust(t *testing.T) {
	base := FetchOptions{Server: Endpoint{Host: "127.0.0.1", Port: 1}, Username: "u", Dir: t.TempDir()}
	for _, tc := range []struct {
		name   string
		verify *smime.VerifyOptions
		allow  bool
		refuse bool
	}{
		{"nil", nil, false, true},
		{"integrity only", &smime.VerifyOptions{}, false, true},
		{"allowed unverified", nil, true, false},
		{"roots", &smime.VerifyOptions{Roots: samples(t).PKI.Pool()}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := OpenTracker("", &TrackerOptions{AllowUnverified: tc.allow})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			o := base
			o.Verify, o.Tracker, o.Timeout = tc.verify, tr, 1
			_, err = Fetch(context.Background(), &o)
			if got := errors.Is(err, ErrNoTrust); got != tc.refuse {
				t.Errorf("Fetch: %v; refused for trust = %v, want %v", err, got, tc.refuse)
			}
		})
	}
}
