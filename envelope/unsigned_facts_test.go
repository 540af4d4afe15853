package envelope_test

import (
	"bytes"
	"errors"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
)

// TestUnsignedFactsDisagree rewrites, one at a time, the headers of a
// genuine transport envelope that restate a legal fact of the signed
// certification data (the sender named in From, the subject, the
// recipients, the time). They lie outside the signature: the envelope
// stays intact, but a header that says something else than the signed
// data is a problem, and the envelope is not OK. Harmless rewritings real
// providers make (case, folding, a zone written wrongly) stay OK.
func TestUnsignedFactsDisagree(t *testing.T) {
	set := fixtures(t)
	genuine := set.Messages[pec.KindTransport]
	e, err := envelope.Parse(bytes.NewReader(genuine), trusted(t, set))
	if err != nil || !e.OK() {
		t.Fatalf("genuine envelope: %v %v", err, e.Problems)
	}
	d := e.Data
	date, err := mail.ParseDate(headerOf(t, genuine, "Date"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, header, value string
		ok                  bool
	}{
		{"on-behalf-of-another", "From", `"Per conto di: ceo@pec.bigcorp.example" <posta-certificata@pec.mittente.example>`, false},
		{"on-behalf-of-another-encoded", "From", "=?utf-8?q?Per_conto_di=3A_ceo=40pec=2Ebigcorp=2Eexample?= <posta-certificata@pec.mittente.example>", false},
		{"on-behalf-of-same-case", "From", `"PER CONTO DI: ` + upper(d.Sender) + `" <posta-certificata@pec.mittente.example>`, true},
		{"subject-changed", "Subject", pec.SubjectTransport + "Pagamento immediato", false},
		{"subject-dropped-prefix-kept", "Subject", pec.SubjectTransport, d.Subject == ""},
		{"subject-other-kind", "Subject", pec.SubjectDelivery + d.Subject, false},
		{"subject-folded", "Subject", pec.SubjectTransport + " " + upper(d.Subject) + "  ", true},
		{"subject-encoded", "Subject", mimeQ(pec.SubjectTransport + d.Subject), true},
		{"to-extra", "To", d.Recipients[0].Address + ", victim@pec.altro.example", false},
		{"cc-extra", "Cc", "victim@pec.altro.example", false},
		{"date-next-day", "Date", date.Add(24 * time.Hour).Format(time.RFC1123Z), false},
		{"date-minutes", "Date", date.Add(3 * time.Hour).Format(time.RFC1123Z), false},
		{"date-wrong-zone", "Date", otherZone(date, time.Hour).Format(time.RFC1123Z), true},
		{"date-hour-later", "Date", date.Add(time.Hour).Format(time.RFC1123Z), false},
		{"date-hours-later-utc", "Date", date.Add(2 * time.Hour).UTC().Format(time.RFC1123Z), false},
		{"date-minutes-later", "Date", date.Add(5 * time.Minute).Format(time.RFC1123Z), false},
		{"date-utc", "Date", date.UTC().Format(time.RFC1123Z), true},
		{"date-comment", "Date", date.Format(time.RFC1123Z) + " (CET)", true},
		{"date-seconds", "Date", date.Add(30 * time.Second).Format(time.RFC1123Z), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := envelope.Parse(bytes.NewReader(setHeader(t, genuine, tc.header, tc.value)), trusted(t, set))
			if err != nil {
				t.Fatal(err)
			}
			if !e.Signature.Intact {
				t.Fatal("the signature covers no header: it must stay intact")
			}
			if e.Sender() != d.Sender || e.Subject() != d.Subject {
				t.Errorf("accessors read the header: Sender %q Subject %q", e.Sender(), e.Subject())
			}
			if e.OK() != tc.ok {
				t.Fatalf("OK() = %v with %s: %q; problems %v", e.OK(), tc.header, tc.value, e.Problems)
			}
			if !tc.ok {
				var pe *pec.ParseError
				found := false
				for _, p := range e.Problems {
					if errors.Is(p, pec.ErrInconsistent) && errors.As(p, &pe) && pe.Header == tc.header {
						found = true
					}
				}
				if !found {
					t.Errorf("no %v problem naming %s: %v", pec.ErrInconsistent, tc.header, e.Problems)
				}
			}
		})
	}
}

func headerOf(tb testing.TB, msg []byte, name string) string {
	tb.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		tb.Fatal(err)
	}
	return m.Header.Get(name)
}

// otherZone returns t's wall clock in a zone off from t's by d.
func otherZone(t time.Time, d time.Duration) time.Time {
	_, off := t.Zone()
	y, mo, day := t.Date()
	h, mi, sec := t.Clock()
	return time.Date(y, mo, day, h, mi, sec, 0, time.FixedZone("", off+int(d.Seconds())))
}

func upper(s string) string { return strings.ToUpper(s) }

func mimeQ(s string) string { return mime.BEncoding.Encode("utf-8", s) }
