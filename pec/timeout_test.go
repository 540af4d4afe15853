package pec_test

import (
	"testing"
	"time"

	"github.com/pecsdk/pec/pec"
)

// TestTimeoutKindQuotedSubject: the subject a notice quotes is the
// sender's wording and never decides which notice it is.
func TestTimeoutKindQuotedSubject(t *testing.T) {
	for _, tc := range []struct {
		kind    pec.Kind
		subject string
	}{
		{pec.KindDeliveryTimeout24h, "Diffida: pagare entro le prime 12 ore"},
		{pec.KindDeliveryTimeout24h, "risposta nelle 12 ore"},
		{pec.KindDeliveryTimeout12h, "Riscontro entro 24 ore"},
		{pec.KindDeliveryTimeout12h, "24 hours notice"},
	} {
		d := &pec.TextData{Time: time.Now(), Subject: tc.subject, Sender: "a@pec.example.it", Recipient: "b@pec.example.com", ID: "x@pec.example.it"}
		text := pec.Text(tc.kind, d)
		if got := pec.TimeoutKind(text, d.Subject, d.Sender, d.Recipient); got != tc.kind {
			t.Errorf("%s about %q read as %s", tc.kind, tc.subject, got)
		}
	}
}
