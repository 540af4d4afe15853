package client

import (
	"context"
	"errors"
	"testing"

	"github.com/pecsdk/pec/pec/smime"
)

// TestFetchNeedsTrust: a fetch that feeds a tracker must be able to judge
// the signers of the receipts as PEC providers, live; without a provider
// index, or verifying as of another time, it is refused before anything is
// fetched, unless the tracker accepts unverified evidence. Trust anchors
// alone are not enough: any certificate under the same CA chains to them.
func TestFetchNeedsTrust(t *testing.T) {
	base := FetchOptions{Server: Endpoint{Host: "127.0.0.1", Port: 1}, Username: "u", Dir: t.TempDir()}
	live := verifyOpts(t)
	asOfSigning, past := *live, *live
	asOfSigning.AsOfSigningTime = true
	past.CurrentTime = sampleTime
	for _, tc := range []struct {
		name   string
		verify *smime.VerifyOptions
		allow  bool
		refuse bool
	}{
		{"nil", nil, false, true},
		{"integrity only", &smime.VerifyOptions{}, false, true},
		{"allowed unverified", nil, true, false},
		{"roots only", &smime.VerifyOptions{Roots: samples(t).PKI.Pool()}, false, true},
		{"roots only, allowed unverified", &smime.VerifyOptions{Roots: samples(t).PKI.Pool()}, true, false},
		{"index", live, false, false},
		{"index only", &smime.VerifyOptions{Authority: live.Authority}, false, false},
		{"index, as of the signing time", &asOfSigning, false, true},
		{"index, at another time", &past, false, true},
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
