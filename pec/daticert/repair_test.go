package daticert

import (
	"strings"
	"testing"
)

// TestParseRepaired: daticert.xml files that are not well-formed XML, as
// real providers have sent them inside signature-intact messages, keep
// every field; the character XML forbids is replaced and each mend is
// reported in Repairs.
func TestParseRepaired(t *testing.T) {
	full := std().String()
	withSubject := func(s string) string { return strings.Replace(full, "Subject text", s, 1) }
	for _, tc := range []struct {
		name, in, subject, repair string
	}{
		{"raw-control-character", withSubject("Fattura\x16 n. 12"), "Fattura\uFFFD n. 12", "control character U+0016"},
		{"reference-to-control-character", withSubject("Fattura&#18; n. 12"), "Fattura\uFFFD n. 12", "reference to a character XML forbids (&#18;)"},
		{"hex-reference-to-control-character", withSubject("A&#x1F;B"), "A\uFFFDB", "&#x1F;"},
		{"bare-ampersand", withSubject("Rossi & Figli"), "Rossi & Figli", `bare "&" escaped`},
		{"undefined-entity", withSubject("a&nbsp;b"), "a&nbsp;b", `bare "&" escaped`},
		{"bare-less-than", withSubject("importo < 100"), "importo < 100", `bare "<" escaped`},
		{"latin1-bytes-declared-utf8", withSubject("Perch\xe9 cos\xec"), "Perché così", "Windows-1252"},
		{"windows1252-euro", withSubject("Totale 10 \x80"), "Totale 10 €", "Windows-1252"},
		{"unknown-encoding-label", strings.Replace(full, "UTF-8", "EBCDIC-US", 1), "Subject text", `unknown encoding "ebcdic-us"`},
		{"byte-order-mark-after-declaration", strings.Replace(full, "?>", "?>\xef\xbb\xbf", 1), "Subject text", "byte order mark"},
		{"several-faults", withSubject("A\x01 & B\x01 &#0;"), "A\uFFFD & B\uFFFD \uFFFD", "(2 times)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Unmarshal([]byte(tc.in))
			if err != nil {
				t.Fatalf("not recovered: %v", err)
			}
			if d.Subject != tc.subject {
				t.Errorf("subject %q, want %q", d.Subject, tc.subject)
			}
			if len(d.Repairs) == 0 || !strings.Contains(strings.Join(d.Repairs, "; "), tc.repair) {
				t.Errorf("repairs %q lack %q", d.Repairs, tc.repair)
			}
			want, _ := Unmarshal([]byte(full))
			if d.Sender != want.Sender || d.ID != want.ID || !d.Time.Equal(want.Time) || len(d.Recipients) != len(want.Recipients) || d.Provider != want.Provider {
				t.Errorf("fields lost: %+v", d)
			}
			// What is emitted again is strict, well-formed XML.
			if b, err := d.Marshal(); err == nil {
				again, err := Unmarshal(b)
				if err != nil || again.Repairs != nil {
					t.Errorf("marshalled again: %v, repairs %v", err, again)
				}
			}
		})
	}
	// A well-formed file reports no repair.
	if d, err := Unmarshal([]byte(full)); err != nil || d.Repairs != nil {
		t.Fatalf("well-formed: %v %v", err, d.Repairs)
	}
}
