package pec

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestKinds(t *testing.T) {
	if len(Kinds) != 14 {
		t.Fatalf("%d kinds, want 14", len(Kinds))
	}
	seen := map[string]bool{}
	for _, k := range Kinds {
		if !k.Valid() || seen[k.String()] || k.SubjectPrefix() == "" || !strings.HasSuffix(k.SubjectPrefix(), ": ") {
			t.Errorf("%d: bad entry %q %q", k, k, k.SubjectPrefix())
		}
		seen[k.String()] = true
		if k.IsEnvelope() == k.IsReceipt() {
			t.Errorf("%s: envelope=%v receipt=%v", k, k.IsEnvelope(), k.IsReceipt())
		}
		got, err := ParseKind(strings.ToUpper(k.String()))
		if err != nil || got != k {
			t.Errorf("ParseKind(%s) = %v, %v", k, got, err)
		}
		if k != KindAnomaly && !k.CertType().Valid() {
			t.Errorf("%s: cert type %q", k, k.CertType())
		}
	}
	for _, k := range []Kind{-1, 99, KindUnknown} {
		if k.String() != "unknown" || k.Valid() {
			t.Errorf("Kind(%d) = %q valid=%v", int(k), k, k.Valid())
		}
	}
}

func TestLiterals(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		fn   func(string) (string, error)
	}{
		{" Posta-Certificata ", "posta-certificata", func(s string) (string, error) { v, err := ParseTransport(s); return string(v), err }},
		{"AVVENUTA-CONSEGNA", "avvenuta-consegna", func(s string) (string, error) { v, err := ParseNotice(s); return string(v), err }},
		{"Breve", "breve", func(s string) (string, error) { v, err := ParseReceiptType(s); return string(v), err }},
		{"NO-DEST", "no-dest", func(s string) (string, error) { v, err := ParseErrorCode(s); return string(v), err }},
		{"esterno", "esterno", func(s string) (string, error) { v, err := ParseRecipientType(s); return string(v), err }},
	} {
		got, err := tc.fn(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parse %q = %q, %v", tc.in, got, err)
		}
	}
	// Values that third-party parsers wrongly expect do not exist (PEC.md §17 item 26).
	for _, bad := range []string{"mancata-consegna", "normale"} {
		var ve *ValueError
		if _, err := ParseCertType(bad); !errors.As(err, &ve) {
			t.Errorf("ParseCertType(%q): %v", bad, err)
		}
		if _, err := ParseReceiptType(bad); err == nil {
			t.Errorf("ParseReceiptType(%q) accepted", bad)
		}
	}
	var n Notice
	if err := n.UnmarshalText([]byte("Presa-In-Carico")); err != nil || n != NoticeTakeInCharge {
		t.Errorf("UnmarshalText: %q %v", n, err)
	}
}

func TestSplitSubject(t *testing.T) {
	for _, tc := range []struct{ in, prefix, orig string }{
		{"POSTA CERTIFICATA: Re: archetipo", SubjectTransport, "Re: archetipo"},
		{"AVVISO DI MANCATA CONSEGNA PER VIRUS: x", SubjectDeliveryErrorVirus, "x"},
		{"AVVISO DI MANCATA CONSEGNA: x", SubjectDeliveryError, "x"},
		{"AVVISO DI MANCATA CONSEGNA PER SUP.  TEMPO MASSIMO: x", SubjectDeliveryTimeout, "x"}, // RFC 6109's double space
		{"consegna: x", SubjectDelivery, "x"},
		{"CONSEGNA:  x", SubjectDelivery, " x"},
		{"Hello", "", "Hello"},
	} {
		p, o, ok := SplitSubject(tc.in)
		if p != tc.prefix || o != tc.orig || ok != (tc.prefix != "") {
			t.Errorf("SplitSubject(%q) = %q, %q, %v", tc.in, p, o, ok)
		}
	}
}

func TestDates(t *testing.T) {
	// Italian legal time: CET in winter, CEST in summer, across the switch.
	for _, tc := range []struct {
		utc              time.Time
		day, clock, zone string
	}{
		{time.Date(2024, 12, 4, 23, 2, 10, 0, time.UTC), "05/12/2024", "00:02:10", "+0100"},
		{time.Date(2026, 3, 29, 0, 59, 59, 0, time.UTC), "29/03/2026", "01:59:59", "+0100"},
		{time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), "29/03/2026", "03:00:00", "+0200"},
	} {
		d, c, z := FormatDate(tc.utc)
		if d != tc.day || c != tc.clock || z != tc.zone {
			t.Errorf("FormatDate(%v) = %s %s %s", tc.utc, d, c, z)
		}
		back, err := ParseDate(d, c, z)
		if err != nil || !back.Equal(tc.utc) {
			t.Errorf("ParseDate(%s %s %s) = %v, %v", d, c, z, back, err)
		}
	}
	if got, err := ParseDate(" 5/12/2024 ", "0:02:10", "+01:00"); err != nil || got.Hour() != 0 || got.Day() != 5 {
		t.Errorf("tolerant ParseDate = %v, %v", got, err)
	}
	for _, bad := range [][3]string{{"31/02/2024", "10:00:00", "+0100"}, {"1/1/2024", "25:00:00", "+0100"}, {"1/1/2024", "10:00:00", "0100"}, {"x", "y", "z"}, {"1/1/2024", "10:00:00", "+01"}} {
		if _, err := ParseDate(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("ParseDate(%v) accepted", bad)
		}
	}
}

func TestMsgID(t *testing.T) {
	a := NewMsgID("PEC.Example.it", time.Now())
	b := NewMsgID("pec.example.it", time.Now())
	if a == b || !strings.HasSuffix(a, "@pec.example.it") || strings.ContainsAny(a, "<> ") {
		t.Errorf("NewMsgID: %q %q", a, b)
	}
	if !EqualMsgID(" <abc@Pec.Example.IT>", "abc@pec.example.it") || EqualMsgID("ABC@x", "abc@x") {
		t.Error("EqualMsgID")
	}
	if NormalizeMsgID("<a@b>\r\n") != "a@b" || BracketMsgID("a@b") != "<a@b>" || Domain("X <a@B.it>") != "b.it" {
		t.Error("normalisation")
	}
}

func TestError(t *testing.T) {
	e := &Error{Kind: KindDeliveryError, Code: ErrorOther, Extended: "5.1.1 - ARUBA PEC S.p.A. - indirizzo non valido", Recipient: "x@pec.it"}
	if e.Status() != "5.1.1" || !strings.Contains(e.Error(), "x@pec.it") {
		t.Errorf("%v status %q", e, e.Status())
	}
	var target *Error
	if !errors.As(error(e), &target) {
		t.Error("errors.As")
	}
	if (&Error{Extended: "casella piena"}).Status() != "" {
		t.Error("status of free text")
	}
	pe := &ParseError{Part: "1.2", Header: "Content-Type", Offset: 42, Err: ErrMalformed}
	if !errors.Is(pe, ErrMalformed) || !strings.Contains(pe.Error(), "part 1.2") || !strings.Contains(pe.Error(), "byte 42") {
		t.Errorf("ParseError: %v", pe)
	}
}

func TestTextAndTimeout(t *testing.T) {
	d := &TextData{Time: time.Now(), Subject: "S", Sender: "a@b", Recipient: "c@d", ID: "id@x",
		Recipients: []Recipient{{"c@d", RecipientCertified}, {"e@f", RecipientExternal}}}
	for _, k := range Kinds {
		txt := Text(k, d)
		if !strings.HasSuffix(txt, "Identificativo messaggio: id@x\r\n") || strings.Contains(strings.ReplaceAll(txt, "\r\n", ""), "\n") {
			t.Errorf("%s: text ends %q", k, txt[max(0, len(txt)-60):])
		}
		if k.IsTimeout() && TimeoutKind(txt) != k {
			t.Errorf("TimeoutKind(Text(%s)) = %s", k, TimeoutKind(txt))
		}
		if h := HTML(k, d); strings.Contains(h, "<img") || strings.Contains(h, "<script") || !strings.Contains(h, "id@x") {
			t.Errorf("%s: HTML %q", k, h)
		}
	}
	if !strings.Contains(Text(KindAcceptance, d), "posta ordinaria") {
		t.Error("acceptance text does not mark the external recipient")
	}
}
