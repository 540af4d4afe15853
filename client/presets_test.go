package client_test

import (
	"strings"
	"testing"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec/index"
)

func TestPresets(t *testing.T) {
	ps := client.Presets()
	if len(ps) < 3 {
		t.Fatalf("%d presets", len(ps))
	}
	a, ok := client.LookupPreset("ARUBA")
	if !ok {
		t.Fatal("no aruba")
	}
	for _, c := range []struct{ got, want string }{
		{a.SMTP.Addr(), "smtps.pec.aruba.it:465"},
		{a.IMAP.Addr(), "imaps.pec.aruba.it:993"},
		{a.POP3.Addr(), "pop3s.pec.aruba.it:995"},
		{string(a.SMTP.Security), "tls"},
	} {
		if c.got != c.want {
			t.Errorf("aruba: %q, want %q", c.got, c.want)
		}
	}
	if p, ok := client.PresetFor("Mario <mario.rossi@PEC.IT>", nil); !ok || p.Name != "aruba" {
		t.Errorf("PresetFor pec.it: %+v %v", p, ok)
	}
	if _, ok := client.PresetFor("someone@example.com", nil); ok {
		t.Error("a preset for example.com")
	}
	for _, p := range ps {
		if p.Source == "" || p.Provider == "" || len(p.Domains) == 0 {
			t.Errorf("%s: incomplete: %+v", p.Name, p)
		}
	}
	// The returned slice is a copy.
	ps[0].Name = "changed"
	if client.Presets()[0].Name == "changed" {
		t.Error("Presets exposes the built-in table")
	}
}

func TestParsePresets(t *testing.T) {
	good := `[{"name":"x","provider":"X","domains":["x.it"],"smtp":{"host":"smtp.x.it","port":587,"security":"starttls"}}]`
	ps, err := client.ParsePresets(strings.NewReader(good))
	if err != nil || len(ps) != 1 || ps[0].SMTP.Security != client.SecurityStartTLS || !ps[0].IMAP.IsZero() {
		t.Fatalf("%+v %v", ps, err)
	}
	for name, bad := range map[string]string{
		"not json":      `{`,
		"no name":       `[{"smtp":{"host":"a","port":1}}]`,
		"repeated name": `[{"name":"a","smtp":{"host":"a","port":1}},{"name":"A","smtp":{"host":"a","port":1}}]`,
		"no smtp":       `[{"name":"a"}]`,
		"bad port":      `[{"name":"a","smtp":{"host":"a","port":70000}}]`,
		"plaintext":     `[{"name":"a","smtp":{"host":"a","port":25,"security":"none"}}]`,
		"unknown field": `[{"name":"a","smtp":{"host":"a","port":1},"password":"x"}]`,
	} {
		if _, err := client.ParsePresets(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// domainIndex is a provider index that answers Domain only.
type domainIndex struct {
	index.Index
	domains map[string]*index.Provider
}

func (d domainIndex) Domain(dom string) (*index.Provider, bool) {
	p, ok := d.domains[strings.ToLower(dom)]
	return p, ok
}

// TestPresetForIndex: a custom domain hosted by a provider is recognised
// through the provider index, by the provider's name there.
func TestPresetForIndex(t *testing.T) {
	idx := domainIndex{domains: map[string]*index.Provider{
		"pec.comune.example.it": {Name: "ARUBA PEC S.p.A."},
		"pec.studio.example.it": {Name: "Namirial SpA"},
		"pec.other.example.it":  {Name: "Altro Gestore S.r.l."},
	}}
	for _, tc := range []struct {
		addr string
		idx  index.Index
		want string // "" for none
	}{
		{"protocollo@pec.comune.example.it", idx, "aruba"},
		{"Studio <info@PEC.STUDIO.example.it>", idx, "namirial"},
		{"x@pec.other.example.it", idx, ""},
		{"x@unlisted.example.it", idx, ""},
		{"protocollo@pec.comune.example.it", nil, ""},
		{"mario@pec.it", idx, "aruba"},
		{"no-at-sign", idx, ""},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			p, ok := client.PresetFor(tc.addr, tc.idx)
			if ok != (tc.want != "") || p.Name != tc.want {
				t.Errorf("PresetFor = %q, %v; want %q", p.Name, ok, tc.want)
			}
		})
	}
	for _, p := range client.Presets() {
		if len(p.IndexNames) == 0 {
			t.Errorf("%s: no index name", p.Name)
		}
	}
}
