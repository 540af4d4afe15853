package receipt_test

import (
	"bytes"
	"errors"
	"regexp"
	"testing"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/receipt"
)

// These tests forge receipts from genuine, provider-signed ones by
// rewriting what lies outside the signature: the kind (and so the
// recipient's state in a tracker) must follow the signed daticert.xml only.

// setHeader replaces (or adds, or with value "" removes) the field name
// of the top-level header of msg, folded lines included.
func setHeader(tb testing.TB, msg []byte, name, value string) []byte {
	tb.Helper()
	end := bytes.Index(msg, []byte("\r\n\r\n"))
	if end < 0 {
		tb.Fatal("no header end")
	}
	head, body := msg[:end+2], msg[end+2:]
	re := regexp.MustCompile(`(?im)^` + regexp.QuoteMeta(name) + `:.*\r\n([ \t].*\r\n)*`)
	line := []byte(name + ": " + value + "\r\n")
	if value == "" {
		line = nil
	}
	if re.Match(head) {
		head = re.ReplaceAllLiteral(head, line)
	} else {
		head = append(append([]byte{}, line...), head...)
	}
	return append(head, body...)
}

func TestForgedReceiptHeaders(t *testing.T) {
	set := fixtures(t)
	for _, tc := range []struct {
		name  string
		from  pec.Kind
		forge func([]byte) []byte
		want  pec.Kind // what the signed daticert says
	}{
		{"virus-header-on-non-delivery", pec.KindDeliveryError, func(b []byte) []byte {
			return setHeader(t, b, pec.HeaderSecurityCheck, pec.SecurityCheckError)
		}, pec.KindDeliveryError},
		{"virus-header-on-non-acceptance", pec.KindNonAcceptance, func(b []byte) []byte {
			return setHeader(t, b, pec.HeaderSecurityCheck, pec.SecurityCheckError)
		}, pec.KindNonAcceptance},
		{"acceptance-as-delivery", pec.KindAcceptance, func(b []byte) []byte {
			return setHeader(t, b, pec.HeaderReceipt, string(pec.NoticeDelivery))
		}, pec.KindAcceptance},
		{"non-delivery-as-delivery", pec.KindDeliveryError, func(b []byte) []byte {
			return setHeader(t, b, pec.HeaderReceipt, string(pec.NoticeDelivery))
		}, pec.KindDeliveryError},
		{"take-in-charge-as-delivery", pec.KindTakeInCharge, func(b []byte) []byte {
			return setHeader(t, b, pec.HeaderReceipt, string(pec.NoticeDelivery))
		}, pec.KindTakeInCharge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			genuine := set.Messages[tc.from]
			rc, err := receipt.Parse(bytes.NewReader(genuine), trusted(t, set))
			if err != nil || !rc.OK() || rc.Kind != tc.from {
				t.Fatalf("genuine %s: %v, kind %v, problems %v", tc.from, err, rc.Kind, rc.Problems)
			}
			rc, err = receipt.Parse(bytes.NewReader(tc.forge(genuine)), trusted(t, set))
			if err != nil {
				t.Fatal(err)
			}
			if !rc.Signature.OK() {
				t.Fatalf("the signature is untouched and should verify: %v", rc.Signature.Problems)
			}
			if rc.Kind != tc.want {
				t.Errorf("kind %s, the signed daticert says %s", rc.Kind, tc.want)
			}
			if rc.OK() {
				t.Errorf("OK with an unsigned header the signed content contradicts")
			}
			if !errors.Is(rc.Err(), pec.ErrUnsignedClaim) {
				t.Errorf("problems %v lack %v", rc.Problems, pec.ErrUnsignedClaim)
			}
			if rc.Error != nil && rc.Error.Code == pec.ErrorVirus {
				t.Errorf("error code virus from an unsigned header")
			}
		})
	}
}

// TestGenuineVirusNotices: the virus variants, said by the signed
// daticert, stay what they are.
func TestGenuineVirusNotices(t *testing.T) {
	set := fixtures(t)
	for _, k := range []pec.Kind{pec.KindNonAcceptanceVirus, pec.KindDeliveryErrorVirus} {
		rc, err := receipt.Parse(bytes.NewReader(set.Messages[k]), trusted(t, set))
		if err != nil || !rc.OK() || rc.Kind != k {
			t.Fatalf("%s: %v, kind %v, problems %v", k, err, rc.Kind, rc.Problems)
		}
		// Without the header, the signed data still says virus.
		rc, err = receipt.Parse(bytes.NewReader(setHeader(t, set.Messages[k], pec.HeaderSecurityCheck, "")), trusted(t, set))
		if err != nil || !rc.OK() || rc.Kind != k {
			t.Fatalf("%s without %s: %v, kind %v, problems %v", k, pec.HeaderSecurityCheck, err, rc.Kind, rc.Problems)
		}
	}
}

// TestReceiptFromFailsClosed: a genuine receipt whose From is removed or
// unparseable is not OK.
func TestReceiptFromFailsClosed(t *testing.T) {
	set := fixtures(t)
	for _, from := range []string{"", "posta-certificata@pec.destinatario.example (x", "posta-certificata@pec.destinatario.example."} {
		rc, err := receipt.Parse(bytes.NewReader(setHeader(t, set.Messages[pec.KindDelivery], "From", from)), trusted(t, set))
		if err != nil {
			t.Fatal(err)
		}
		if rc.OK() || rc.Signature.FromMatches == nil || *rc.Signature.FromMatches {
			t.Errorf("From %q: OK %v, FromMatches %v", from, rc.OK(), rc.Signature.FromMatches)
		}
	}
}
