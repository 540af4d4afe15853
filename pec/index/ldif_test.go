package index

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestReadLDIF covers the RFC 2849 features the reader accepts.
func TestReadLDIF(t *testing.T) {
	in := "version: 1\r\n" +
		"# a comment\r\n" +
		"#  folded comment\r\n" +
		"dn: providerName=Example PEC S.p.A.,\r\n" +
		" o=postacert\r\n" +
		"objectclass: top\r\n" +
		"providerName:   Example PEC S.p.A.\r\n" +
		"description:: Q2VydGlmaWVkIG1haWwg4oCTIHNlcnZpY2Vz\r\n" +
		"managedDomains: pec.exa\r\n" +
		" mple.it\r\n" +
		"\r\n" +
		"   \r\n" +
		"dn: o=postacert\n" +
		"control: 1.2.3 true\n" +
		"changetype: modify\n" +
		"add: description\n" +
		"description: root\n" +
		"-\n" +
		"replace: LDIFLocationURL\n" +
		"LDIFLocationURL: https://x.example/a.p7m\n" +
		"-\n" +
		"delete: seeAlso\n" +
		"\n" +
		"dn:: bz1wb3N0YWNlcnQ=\n" +
		"changetype: delete\n"
	recs, err := readLDIF(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []ldifRecord{
		{line: 4, dn: "providerName=Example PEC S.p.A.,o=postacert", attrs: []ldifAttr{
			{"objectclass", []byte("top"), 6},
			{"providerName", []byte("Example PEC S.p.A."), 7},
			{"description", []byte("Certified mail – services"), 8},
			{"managedDomains", []byte("pec.example.it"), 9},
		}},
		{line: 13, dn: "o=postacert", change: "modify", mods: []ldifMod{
			{op: "add", attr: "description", values: []ldifAttr{{"description", []byte("root"), 17}}, line: 16},
			{op: "replace", attr: "LDIFLocationURL", values: []ldifAttr{{"LDIFLocationURL", []byte("https://x.example/a.p7m"), 20}}, line: 19},
			{op: "delete", attr: "seeAlso", line: 22},
		}},
		{line: 24, dn: "o=postacert", change: "delete"},
	}
	if !reflect.DeepEqual(recs, want) {
		t.Fatalf("records\n%+v\nwant\n%+v", recs, want)
	}
}

// TestReadLDIFErrors: malformed LDIF gives a *SyntaxError with the line.
func TestReadLDIFErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		line     int
		sentinel error
		text     string
	}{
		{"no-dn", "objectClass: top\n", 1, ErrSyntax, "not dn"},
		{"no-colon", "dn: o=x\nfoo\n", 2, ErrSyntax, "no colon"},
		{"bad-base64", "dn: o=x\ndescription:: !!!\n", 2, ErrSyntax, "bad base64"},
		{"bad-attr-name", "dn: o=x\nbad name: v\n", 2, ErrSyntax, "attribute description"},
		{"leading-continuation", " folded\ndn: o=x\n", 1, ErrSyntax, "continuation"},
		{"version-2", "version: 2\n\ndn: o=x\na: b\n", 1, ErrSyntax, "version"},
		{"url-value", "dn: o=x\njpegPhoto:< file:///etc/passwd\n", 2, ErrUnsupported, "URL"},
		{"modrdn", "dn: o=x\nchangetype: modrdn\nnewrdn: o=y\n", 1, ErrUnsupported, "modrdn"},
		{"unknown-changetype", "dn: o=x\nchangetype: frob\n", 2, ErrSyntax, "frob"},
		{"dash-in-content", "dn: o=x\na: b\n-\n", 3, ErrSyntax, "without changetype modify"},
		{"wrong-attr-in-mod", "dn: o=x\nchangetype: modify\nadd: a\nb: c\n-\n", 4, ErrSyntax, "missing \"-\""},
		{"bad-mod-op", "dn: o=x\nchangetype: modify\nfrob: a\n", 3, ErrSyntax, "frob"},
		{"lines-after-delete", "dn: o=x\nchangetype: delete\na: b\n", 3, ErrSyntax, "after changetype delete"},
		{"empty-entry", "dn: o=x\n", 1, ErrSyntax, "no attributes"},
		{"empty-dn", "dn:\na: b\n", 1, ErrSyntax, "empty dn"},
		{"dn-not-utf8", "dn:: /w==\na: b\n", 1, ErrSyntax, "UTF-8"},
		{"long-line", "dn: o=x\na: " + strings.Repeat("x", maxLDIFLine) + "\n", 2, ErrSyntax, "longer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readLDIF(strings.NewReader(tc.in))
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line != tc.line || !errors.Is(err, tc.sentinel) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err %v, want line %d, %v, %q", err, tc.line, tc.sentinel, tc.text)
			}
		})
	}
}

// TestWriteLDIFRoundTrip: written records read back the same, whatever
// the values (binary, blanks, long lines).
func TestWriteLDIFRoundTrip(t *testing.T) {
	recs := []ldifRecord{
		{dn: "o=postacert", attrs: []ldifAttr{
			{name: "description", value: []byte(" leading space")},
			{name: "description", value: []byte("trailing space ")},
			{name: "description", value: []byte(":colon")},
			{name: "description", value: []byte("<less")},
			{name: "description", value: []byte("è UTF-8")},
			{name: "description", value: []byte(strings.Repeat("long ", 60) + "end")},
			{name: "description", value: []byte{0, 1, 2, 0xff}},
			{name: "description", value: []byte{}},
		}},
		{dn: "providerName=A\\, B,o=postacert", change: "modify", mods: []ldifMod{
			{op: "replace", attr: "mailReceipt", values: []ldifAttr{{name: "mailReceipt", value: []byte("a@b.example")}}},
			{op: "delete", attr: "description"},
		}},
	}
	var b bytes.Buffer
	if err := writeLDIF(&b, recs); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(b.String(), "\n") {
		if len(l) > ldifFold {
			t.Errorf("line of %d bytes: %q", len(l), l)
		}
	}
	got, err := readLDIF(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !sameRecords(got, recs) {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, recs)
	}
}

// sameRecords compares records without their line numbers.
func sameRecords(a, b []ldifRecord) bool {
	strip := func(rs []ldifRecord) []ldifRecord {
		out := make([]ldifRecord, len(rs))
		for i, r := range rs {
			r.line = 0
			r.attrs = stripAttrs(r.attrs)
			var mods []ldifMod
			for _, m := range r.mods {
				m.line = 0
				m.values = stripAttrs(m.values)
				mods = append(mods, m)
			}
			r.mods = mods
			out[i] = r
		}
		return out
	}
	return reflect.DeepEqual(strip(a), strip(b))
}

func stripAttrs(as []ldifAttr) []ldifAttr {
	var out []ldifAttr
	for _, a := range as {
		a.line = 0
		if a.value == nil {
			a.value = []byte{}
		}
		out = append(out, a)
	}
	return out
}
