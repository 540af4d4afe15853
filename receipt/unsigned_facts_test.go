package receipt_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/receipt"
)

// TestUnsignedFactsDisagree rewrites the unsigned Subject and Date of
// genuine receipts: the receipt stays intact, the accessors keep the
// signed values, and a header that says something else than the signed
// certification data makes the receipt not OK.
func TestUnsignedFactsDisagree(t *testing.T) {
	set := fixtures(t)
	for _, k := range []pec.Kind{pec.KindAcceptance, pec.KindTakeInCharge, pec.KindDelivery, pec.KindDeliveryError} {
		genuine := set.Messages[k]
		r, err := receipt.Parse(bytes.NewReader(genuine), trusted(t, set))
		if err != nil || !r.OK() {
			t.Fatalf("%s genuine: %v %v", k, err, r.Problems)
		}
		for _, tc := range []struct{ header, value string }{
			{"Subject", k.SubjectPrefix() + "Un altro oggetto"},
			{"Subject", pec.SubjectDeliveryError + r.Data.Subject},
			{"Date", "Mon, 2 Jan 2006 15:04:05 +0100"},
		} {
			if k == pec.KindDeliveryError && tc.value == pec.SubjectDeliveryError+r.Data.Subject {
				continue // that is its own subject
			}
			f, err := receipt.Parse(bytes.NewReader(setHeader(t, genuine, tc.header, tc.value)), trusted(t, set))
			if err != nil {
				t.Fatal(err)
			}
			if f.OK() || !f.Signature.Intact || f.Kind != k {
				t.Errorf("%s with %s %q: OK %v intact %v kind %s", k, tc.header, tc.value, f.OK(), f.Signature.Intact, f.Kind)
			}
			found := false
			for _, p := range f.Problems {
				found = found || errors.Is(p, pec.ErrInconsistent)
			}
			if !found {
				t.Errorf("%s with %s %q: no disagreement reported: %v", k, tc.header, tc.value, f.Problems)
			}
		}
	}
}
