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

// TestUnsignedSubjectPrefix checks the subject prefix a notice's header
// may show for its signed kind: its own, or, on a virus notice, the
// plainer prefix of the same notice some providers write; never a prefix
// that claims more than the signed kind (a virus the notice names none
// of), nor another kind's.
func TestUnsignedSubjectPrefix(t *testing.T) {
	set := fixtures(t)
	for _, tc := range []struct {
		kind   pec.Kind
		prefix string
		ok     bool
	}{
		{pec.KindDeliveryError, pec.SubjectDeliveryError, true},
		{pec.KindDeliveryError, pec.SubjectDeliveryErrorVirus, false},
		{pec.KindDeliveryErrorVirus, pec.SubjectDeliveryError, true},
		{pec.KindNonAcceptance, pec.SubjectNonAcceptanceVirus, false},
		{pec.KindNonAcceptanceVirus, pec.SubjectNonAcceptance, true},
		{pec.KindDeliveryError, pec.SubjectDeliveryTimeout, false},
		{pec.KindDeliveryErrorVirus, pec.SubjectDeliveryTimeout, false},
		{pec.KindVirusDetected, pec.SubjectDeliveryErrorVirus, false},
		{pec.KindDelivery, pec.SubjectAcceptance, false},
		{pec.KindDeliveryShort, pec.SubjectDelivery, true},
	} {
		genuine := set.Messages[tc.kind]
		g, err := receipt.Parse(bytes.NewReader(genuine), trusted(t, set))
		if err != nil || !g.OK() {
			t.Fatalf("%s genuine: %v %v", tc.kind, err, g.Problems)
		}
		r, err := receipt.Parse(bytes.NewReader(setHeader(t, genuine, "Subject", tc.prefix+g.Data.Subject)), trusted(t, set))
		if err != nil {
			t.Fatal(err)
		}
		if r.OK() != tc.ok || r.Kind != tc.kind {
			t.Errorf("%s with the prefix %q: OK %v kind %s, want OK %v; problems %v", tc.kind, tc.prefix, r.OK(), r.Kind, tc.ok, r.Problems)
		}
	}
}

// TestUnsignedReceiptAddresses rewrites the From display name, the Sender
// and the Reply-To of genuine receipts: a name or address other than the
// provider's, the signed mittente or the signed risposte is a problem.
func TestUnsignedReceiptAddresses(t *testing.T) {
	set := fixtures(t)
	for _, k := range []pec.Kind{pec.KindAcceptance, pec.KindDelivery} {
		genuine := set.Messages[k]
		g, err := receipt.Parse(bytes.NewReader(genuine), trusted(t, set))
		if err != nil || !g.OK() {
			t.Fatalf("%s genuine: %v %v", k, err, g.Problems)
		}
		from := g.Signature.SignerEmail
		for _, tc := range []struct {
			header, value string
			ok            bool
		}{
			{"From", `"Posta Certificata" <` + from + `>`, true},
			{"From", `"` + from + `" <` + from + `>`, true},
			{"From", `"ceo@pec.bigcorp.example" <` + from + `>`, false},
			{"From", `"=?utf-8?q?ceo=40pec=2Ebigcorp=2Eexample?=" <` + from + `>`, false},
			{"From", `"=?utf-8?q?Posta_Certificata?=" <` + from + `>`, true},
			{"Sender", from, true},
			{"Sender", "ceo@pec.bigcorp.example", false},
			{"Reply-To", g.Data.Sender, true},
			{"Reply-To", "attacker@pec.altro.example", false},
		} {
			msg := setHeader(t, genuine, tc.header, tc.value)
			r, err := receipt.Parse(bytes.NewReader(msg), trusted(t, set))
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() != tc.ok {
				t.Errorf("%s with %s: %q: OK %v, want %v; problems %v", k, tc.header, tc.value, r.OK(), tc.ok, r.Problems)
			}
		}
	}
}
