package receipt_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/receipt"
	"github.com/pecsdk/pec/sample"
)

// TestBuildMisuse: each misuse of Build gives its typed error, never a
// panic.
func TestBuildMisuse(t *testing.T) {
	set := fixtures(t)
	at := time.Now().Add(-time.Minute)
	data := func(k pec.Kind, rcpt string) *daticert.Data {
		return receipt.NewData(k, set.Envelope, sample.RecipientProvider, at, []string{rcpt}, "")
	}
	orig := &receipt.Options{} // the original is given afresh to each case
	for _, tc := range []struct {
		name string
		kind pec.Kind
		data *daticert.Data
		nil  bool
		opts *receipt.Options
		want []error
	}{
		{"nil-signer", pec.KindDelivery, data(pec.KindDelivery, sample.Bob), true, orig, []error{receipt.ErrNoSigner}},
		{"delivery-to-a-stranger", pec.KindDelivery, data(pec.KindDelivery, "eve@pec.example.org"), false, orig, []error{receipt.ErrBadData, pec.ErrInconsistent}},
		{"summary-to-a-stranger", pec.KindDeliverySummary, data(pec.KindDeliverySummary, "eve@pec.example.org"), false, nil, []error{receipt.ErrBadData, pec.ErrInconsistent}},
		{"non-delivery-to-a-stranger", pec.KindDeliveryError, func() *daticert.Data {
			d := data(pec.KindDeliveryError, "eve@pec.example.org")
			d.Error = pec.ErrorNoDest
			return d
		}(), false, nil, []error{receipt.ErrBadData, pec.ErrInconsistent}},
		{"non-delivery-without-code", pec.KindDeliveryError, func() *daticert.Data {
			d := data(pec.KindDeliveryError, sample.Bob)
			d.Error = ""
			return d
		}(), false, nil, []error{receipt.ErrBadData}},
		{"non-delivery-nessuno", pec.KindDeliveryError, func() *daticert.Data {
			d := data(pec.KindDeliveryError, sample.Bob)
			d.Error = pec.ErrorNone
			return d
		}(), false, nil, []error{receipt.ErrBadData}},
		{"delivery-without-original", pec.KindDelivery, data(pec.KindDelivery, sample.Bob), false, nil, []error{receipt.ErrNeedOriginal}},
		{"take-in-charge-without-to", pec.KindTakeInCharge, data(pec.KindTakeInCharge, sample.Bob), false, nil, []error{receipt.ErrNeedTo}},
		{"wrong-type", pec.KindDelivery, data(pec.KindAcceptance, sample.Bob), false, orig, []error{receipt.ErrBadData}},
		{"nil-data", pec.KindAcceptance, nil, false, nil, []error{receipt.ErrBadData}},
		{"not-a-receipt", pec.KindTransport, data(pec.KindAcceptance, sample.Bob), false, nil, []error{receipt.ErrBadData}},
		{"nil-envelope-data", pec.KindAcceptance, receipt.NewData(pec.KindAcceptance, nil, sample.RecipientProvider, at, nil, ""), false, nil, []error{receipt.ErrBadData}},
		{"zero-time", pec.KindAcceptance, func() *daticert.Data { d := data(pec.KindAcceptance, sample.Bob); d.Time = time.Time{}; return d }(), false, nil, []error{receipt.ErrBadData}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := set.Recipient
			if tc.nil {
				s = nil
			}
			if tc.opts == orig {
				tc.opts = &receipt.Options{Original: bytes.NewReader(set.Deposited)}
			}
			err := receipt.Build(io.Discard, tc.kind, tc.data, s, tc.opts)
			if err == nil {
				t.Fatal("built")
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("error %v is not %v", err, w)
				}
			}
		})
	}
	for name, err := range map[string]error{
		"zero-signer": receipt.Build(io.Discard, pec.KindAcceptance, data(pec.KindAcceptance, sample.Bob), &smime.Signer{}, nil),
		"nil-writer":  receipt.Build(nil, pec.KindAcceptance, data(pec.KindAcceptance, sample.Bob), set.Recipient, nil),
	} {
		want := []error{receipt.ErrNoSigner, smime.ErrNoCertificate}
		if name == "nil-writer" {
			want = []error{fs.ErrInvalid}
		}
		for _, w := range want {
			if !errors.Is(err, w) {
				t.Errorf("%s: error %v is not %v", name, err, w)
			}
		}
	}
	d := data(pec.KindDeliveryError, sample.Bob)
	d.Error = pec.ErrorNoDest
	if err := receipt.Build(io.Discard, pec.KindDeliveryError, d, set.Recipient, nil); err != nil {
		t.Fatalf("a right non-delivery: %v", err)
	}
}
