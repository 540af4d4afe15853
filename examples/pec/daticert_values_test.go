package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/receipt"
)

// xmlFacts reads daticert.xml with a plain token walk, independent of the
// certification data model: element text by element name (in document
// order), and the attributes that inspect reports.
func xmlFacts(t *testing.T, b []byte) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var stack []string
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("daticert.xml: %v", err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			stack = append(stack, x.Name.Local)
			text.Reset()
			for _, a := range x.Attr {
				out[x.Name.Local+"@"+a.Name.Local] = append(out[x.Name.Local+"@"+a.Name.Local], a.Value)
			}
		case xml.CharData:
			text.Write(x)
		case xml.EndElement:
			out[x.Name.Local] = append(out[x.Name.Local], strings.TrimSpace(text.String()))
			text.Reset()
			stack = stack[:len(stack)-1]
		}
	}
}

// certXML returns the daticert.xml bytes of a sample file, through the
// public parsers.
func certXML(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader
	if e, err := envelope.Parse(bytes.NewReader(b), nil); err == nil {
		r, err = e.CertData()
		if err != nil {
			return nil
		}
	} else if rc, err := receipt.Parse(bytes.NewReader(b), nil); err == nil {
		r, err = rc.CertData()
		if err != nil {
			return nil
		}
	} else {
		t.Fatalf("%s: neither envelope nor receipt: %v", path, err)
	}
	x, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestInspectDaticertValues checks that every value of the daticert object
// of inspect --json is the one in the file's daticert.xml, element by
// element, for every sample kind.
func TestInspectDaticertValues(t *testing.T) {
	dir := t.TempDir()
	if st, out, errs := runTool("sample", "-o", dir); st != 0 {
		t.Fatalf("pec sample: %d\n%s%s", st, out, errs)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 14 {
		t.Fatalf("%d samples", len(files))
	}
	checked := 0
	for _, f := range files {
		x := certXML(t, f)
		if x == nil {
			continue // the anomaly envelope has none
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			facts := xmlFacts(t, x)
			obj := inspectJSON(t, f)
			var d struct {
				Tipo        string `json:"tipo"`
				Errore      string `json:"errore"`
				Mittente    string `json:"mittente"`
				Destinatari []struct {
					Tipo, Indirizzo string
				} `json:"destinatari"`
				Risposte  string `json:"risposte"`
				Oggetto   string `json:"oggetto"`
				Gestore   string `json:"gestore-emittente"`
				Data      struct{ Zona, Giorno, Ora string }
				ID        string   `json:"identificativo"`
				MsgID     *string  `json:"msgid"`
				Ricevuta  *string  `json:"ricevuta"`
				Consegna  *string  `json:"consegna"`
				Ricezione []string `json:"ricezione"`
				Esteso    *string  `json:"errore-esteso"`
			}
			if err := json.Unmarshal(obj["daticert"], &d); err != nil {
				t.Fatalf("daticert: %v", err)
			}
			one := func(key string) string {
				if v := facts[key]; len(v) > 0 {
					return v[0]
				}
				return ""
			}
			str := func(p *string) string {
				if p == nil {
					return ""
				}
				return *p
			}
			errore := one("postacert@errore")
			if errore == "" {
				errore = "nessuno" // the DTD default
			}
			for _, c := range []struct{ key, got, want string }{
				{"tipo", d.Tipo, one("postacert@tipo")},
				{"errore", d.Errore, errore},
				{"mittente", d.Mittente, one("mittente")},
				{"risposte", d.Risposte, one("risposte")},
				{"oggetto", d.Oggetto, one("oggetto")},
				{"gestore-emittente", d.Gestore, one("gestore-emittente")},
				{"data.zona", d.Data.Zona, one("data@zona")},
				{"data.giorno", d.Data.Giorno, one("giorno")},
				{"data.ora", d.Data.Ora, one("ora")},
				{"identificativo", d.ID, pec.NormalizeMsgID(one("identificativo"))},
				{"msgid", str(d.MsgID), pec.NormalizeMsgID(one("msgid"))}, // identifiers without angle brackets
				{"ricevuta", str(d.Ricevuta), one("ricevuta@tipo")},
				{"consegna", str(d.Consegna), one("consegna")},
				{"errore-esteso", str(d.Esteso), one("errore-esteso")},
			} {
				if c.got != c.want {
					t.Errorf("daticert.%s = %q, daticert.xml says %q", c.key, c.got, c.want)
				}
			}
			if !slices.Equal(d.Ricezione, facts["ricezione"]) && !(len(d.Ricezione) == 0 && len(facts["ricezione"]) == 0) {
				t.Errorf("daticert.ricezione = %q, daticert.xml says %q", d.Ricezione, facts["ricezione"])
			}
			var addrs, types []string
			for _, r := range d.Destinatari {
				addrs, types = append(addrs, r.Indirizzo), append(types, r.Tipo)
			}
			if !slices.Equal(addrs, facts["destinatari"]) {
				t.Errorf("daticert.destinatari addresses %q, daticert.xml says %q", addrs, facts["destinatari"])
			}
			wantTypes := facts["destinatari@tipo"]
			if len(wantTypes) == len(types) && !slices.Equal(types, wantTypes) {
				t.Errorf("daticert.destinatari types %q, daticert.xml says %q", types, wantTypes)
			}
		})
		checked++
	}
	if checked != 13 {
		t.Errorf("%d samples with daticert.xml, want 13", checked)
	}
}
