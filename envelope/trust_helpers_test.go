package envelope_test

import (
	"testing"

	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/sample"
)

// trusted returns the verification options of a live reader of the sample
// world: its CA as the anchor and its provider index as the Authority.
func trusted(tb testing.TB, set *sample.Set) *smime.VerifyOptions {
	tb.Helper()
	idx, err := set.Index()
	if err != nil {
		tb.Fatal(err)
	}
	return &smime.VerifyOptions{Roots: set.PKI.Pool(), Authority: idx}
}

// sampleTrust is trusted for the shared fixtures, where no testing.TB is
// at hand: an index that cannot be built leaves the anchors alone, which
// every verdict then reports as not trusted.
func sampleTrust() *smime.VerifyOptions {
	idx, err := fixtureSet.Index()
	if err != nil {
		return &smime.VerifyOptions{Roots: fixtureSet.PKI.Pool()}
	}
	return &smime.VerifyOptions{Roots: fixtureSet.PKI.Pool(), Authority: idx}
}
