package daticert

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec"
)

// fullData returns certification data with every element of the DTD set,
// text that needs escaping, and more than one destinatari and ricezione.
func fullData() *Data {
	return &Data{
		Type:   pec.CertDeliveryError,
		Error:  pec.ErrorOther,
		Sender: "alice@pec.example.it",
		Recipients: []Recipient{
			{Address: "bob@pec.example.com", Type: pec.RecipientCertified},
			{Address: "carol@example.org", Type: pec.RecipientExternal},
			{Address: "dave@pec.example.net", Type: pec.RecipientCertified},
		},
		ReplyTo:       "segreteria@pec.example.it",
		Subject:       `Contratto n. 42 & "allegati" <bozza> – perché sì`,
		Provider:      "Example PEC S.p.A.",
		Time:          time.Date(2026, 9, 14, 9, 0, 7, 0, pec.Location),
		ID:            "opec123.20260914090005.1.2.3@pec.example.it",
		MsgID:         "<orig-1@client.example>",
		ReceiptType:   pec.ReceiptFull,
		Delivery:      "bob@pec.example.com",
		Receipts:      []string{"bob@pec.example.com", "dave@pec.example.net"},
		ExtendedError: "5.1.1 - Example PEC S.p.A. - indirizzo non valido",
	}
}

// minimalData returns certification data with only the required elements.
func minimalData() *Data {
	return &Data{
		Type:       pec.CertAcceptance,
		Sender:     "alice@pec.example.it",
		Recipients: []Recipient{{Address: "bob@pec.example.com"}},
		ReplyTo:    "alice@pec.example.it",
		Provider:   "Example PEC S.p.A.",
		Time:       time.Date(2026, 1, 31, 23, 59, 59, 0, pec.Location),
		ID:         "opec1.20260131225959.1@pec.example.it",
	}
}

// normalized returns a copy of d as Parse reads it back from Marshal: the
// defaults explicit and the time in Italian legal time.
func normalized(d *Data) *Data {
	n := *d
	n.Error = errorCode(n.Error)
	n.Recipients = slices.Clone(d.Recipients)
	for i := range n.Recipients {
		n.Recipients[i].Type = recipientType(n.Recipients[i].Type)
	}
	n.Receipts = slices.Clone(d.Receipts)
	n.Time = pec.Local(d.Time)
	return &n
}

// diffData describes how got differs from want, or returns "". Times are
// compared with Equal, and their offsets too when sameOffset is set.
func diffData(got, want *Data, sameOffset bool) string {
	var diffs []string
	if !got.Time.Equal(want.Time) {
		diffs = append(diffs, fmt.Sprintf("Time = %v, want %v", got.Time, want.Time))
	} else if _, og := got.Time.Zone(); sameOffset {
		if _, ow := want.Time.Zone(); og != ow {
			diffs = append(diffs, fmt.Sprintf("Time offset = %d, want %d", og, ow))
		}
	}
	g, w := reflect.ValueOf(*got), reflect.ValueOf(*want)
	for i := range g.NumField() {
		name := g.Type().Field(i).Name
		if name == "Time" || name == "Repairs" { // Repairs say how the input was read, not what it holds
			continue
		}
		if gf, wf := g.Field(i).Interface(), w.Field(i).Interface(); !reflect.DeepEqual(gf, wf) {
			diffs = append(diffs, fmt.Sprintf("%s = %#v, want %#v", name, gf, wf))
		}
	}
	return strings.Join(diffs, "\n")
}

// TestRoundTrip checks that Parse reads back what Marshal writes, for every
// tipo and every combination of the optional parts.
func TestRoundTrip(t *testing.T) {
	certTypes := []pec.CertType{
		pec.CertAcceptance, pec.CertNonAcceptance, pec.CertTakeInCharge, pec.CertDelivery,
		pec.CertTransport, pec.CertDeliveryError, pec.CertDeliveryWarning, pec.CertVirusDetected,
	}
	const (
		withMsgID = 1 << iota
		withReceiptType
		withDelivery
		withReceipts
		withExtendedError
		emptySubject
		defaultError
		defaultRecipientType
		combinations
	)
	for _, ct := range certTypes {
		for mask := range combinations {
			name := fmt.Sprintf("%s/%08b", ct, mask)
			t.Run(name, func(t *testing.T) {
				d := fullData()
				d.Type = ct
				if mask&withMsgID == 0 {
					d.MsgID = ""
				}
				if mask&withReceiptType == 0 {
					d.ReceiptType = ""
				}
				if mask&withDelivery == 0 {
					d.Delivery = ""
				}
				if mask&withReceipts == 0 {
					d.Receipts = nil
				}
				if mask&withExtendedError == 0 {
					d.ExtendedError = ""
				}
				if mask&emptySubject != 0 {
					d.Subject = ""
				}
				if mask&defaultError != 0 {
					d.Error = ""
				}
				if mask&defaultRecipientType != 0 {
					for i := range d.Recipients {
						d.Recipients[i].Type = ""
					}
				}
				roundTrip(t, d)
			})
		}
	}

	more := []struct {
		name string
		mod  func(*Data)
	}{
		{"minimal", func(d *Data) { *d = *minimalData() }},
		{"one recipient, one ricezione", func(d *Data) {
			d.Type = pec.CertTakeInCharge
			d.Recipients = d.Recipients[:1]
			d.Receipts = d.Receipts[:1]
		}},
		{"many recipients and ricezione", func(d *Data) {
			d.Type = pec.CertTakeInCharge
			d.Recipients, d.Receipts = nil, nil
			for i := range 50 {
				a := fmt.Sprintf("user%d@pec%d.example.it", i, i%7)
				d.Recipients = append(d.Recipients, Recipient{Address: a, Type: pec.RecipientCertified})
				d.Receipts = append(d.Receipts, a)
			}
		}},
		{"virus with consegna and one ricezione", func(d *Data) {
			d.Type, d.Error = pec.CertVirusDetected, pec.ErrorVirus
			d.Receipts = d.Receipts[:1]
		}},
		{"summer time", func(d *Data) { d.Time = time.Date(2026, 7, 1, 12, 0, 0, 0, pec.Location) }},
		{"winter time", func(d *Data) { d.Time = time.Date(2026, 12, 1, 12, 0, 0, 0, pec.Location) }},
		{"UTC time", func(d *Data) { d.Time = time.Date(2026, 3, 29, 0, 59, 59, 0, time.UTC) }},
		{"DST change", func(d *Data) { d.Time = time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC) }},
		{"sub-second time", func(d *Data) { d.Time = time.Date(2026, 5, 5, 5, 5, 5, 999999999, pec.Location) }},
		{"multiline subject and error", func(d *Data) {
			d.Subject = "prima riga\nseconda\triga\r\nterza"
			d.ExtendedError = "550 5.1.1 user unknown\n(ripetuto)"
		}},
		{"markup in every text", func(d *Data) {
			d.Provider = `A&B "<PEC>" S.p.A.`
			d.MsgID = `<a&b'"@[10.0.0.1]>`
			d.ExtendedError = "]]> & <!-- -->"
		}},
		{"non-ASCII", func(d *Data) {
			d.Subject = "Città, caffè, 日本語, 😀"
			d.Provider = "Società Ünïcode S.r.l."
			d.Recipients[0].Address = "josé@pec.exämple.it"
		}},
		{"quoted local part and domain literal", func(d *Data) {
			d.Recipients[1].Address = `"john smith"@[192.0.2.1]`
		}},
	}
	for _, tc := range more {
		t.Run(tc.name, func(t *testing.T) {
			d := fullData()
			tc.mod(d)
			roundTrip(t, d)
		})
	}
}

func roundTrip(t *testing.T, d *Data) {
	t.Helper()
	b, err := d.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatalf("Unmarshal: %v\n%s", err, b)
	}
	if diff := diffData(got, normalized(d), true); diff != "" {
		t.Fatalf("round trip differs:\n%s\n%s", diff, b)
	}
	b2, err := got.Marshal()
	if err != nil {
		t.Fatalf("Marshal of parsed data: %v", err)
	}
	if string(b2) != string(b) {
		t.Fatalf("second Marshal differs:\n%s\n---\n%s", b, b2)
	}
}

func TestRecipientsOfType(t *testing.T) {
	d := &Data{Recipients: []Recipient{
		{Address: "a@pec.example.it", Type: pec.RecipientCertified},
		{Address: "b@example.org", Type: pec.RecipientExternal},
		{Address: "c@pec.example.it"},
		{Address: "d@example.net", Type: pec.RecipientExternal},
	}}
	tests := []struct {
		typ  pec.RecipientType
		want []string
	}{
		{pec.RecipientCertified, []string{"a@pec.example.it", "c@pec.example.it"}},
		{"", []string{"a@pec.example.it", "c@pec.example.it"}},
		{pec.RecipientExternal, []string{"b@example.org", "d@example.net"}},
		{"other", nil},
	}
	for _, tc := range tests {
		t.Run(string(tc.typ), func(t *testing.T) {
			if got := d.RecipientsOfType(tc.typ); !slices.Equal(got, tc.want) {
				t.Errorf("RecipientsOfType(%q) = %q, want %q", tc.typ, got, tc.want)
			}
		})
	}
	var nilData *Data
	if got := nilData.RecipientsOfType(pec.RecipientCertified); got != nil {
		t.Errorf("nil Data: %q", got)
	}
}
