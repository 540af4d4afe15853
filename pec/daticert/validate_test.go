package daticert

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Data)
		want string // a substring of the only problem, "" for valid data
	}{
		{"full", func(*Data) {}, ""},
		{"minimal", func(d *Data) { *d = *minimalData() }, ""},
		{"defaults", func(d *Data) { d.Error, d.Recipients[0].Type = "", "" }, ""},
		{"no tipo", func(d *Data) { d.Type = "" }, "postacert/@tipo: missing"},
		{"bad tipo", func(d *Data) { d.Type = "mancata-consegna" }, `postacert/@tipo: invalid value "mancata-consegna"`},
		{"upper-case tipo", func(d *Data) { d.Type = "ACCETTAZIONE" }, `postacert/@tipo: invalid value`},
		{"bad errore", func(d *Data) { d.Error = "none" }, `postacert/@errore: invalid value "none"`},
		{"no mittente", func(d *Data) { d.Sender = "" }, "postacert/intestazione/mittente: missing"},
		{"mittente with name", func(d *Data) { d.Sender = "Alice <alice@pec.example.it>" }, "not an addr-spec"},
		{"mittente in brackets", func(d *Data) { d.Sender = "<alice@pec.example.it>" }, "not an addr-spec"},
		{"mittente without domain", func(d *Data) { d.Sender = "alice@" }, "not an addr-spec"},
		{"mittente without local part", func(d *Data) { d.Sender = "@pec.example.it" }, "not an addr-spec"},
		{"mittente without @", func(d *Data) { d.Sender = "example.example.com" }, "not an addr-spec"},
		{"mittente with space", func(d *Data) { d.Sender = "al ice@pec.example.it" }, "not an addr-spec"},
		{"mittente with double dot", func(d *Data) { d.Sender = "al..ice@pec.example.it" }, "not an addr-spec"},
		{"mittente with trailing space", func(d *Data) { d.Sender = "alice@pec.example.it " }, "white space"},
		{"mittente with newline", func(d *Data) { d.Sender = "alice@pec.example.it\nBcc: x@y" }, "forbidden character"},
		{"mittente local part too long", func(d *Data) { d.Sender = strings.Repeat("a", 65) + "@pec.example.it" }, "not an addr-spec"},
		{"no recipients", func(d *Data) { d.Recipients = nil }, "at least one recipient"},
		{"empty recipient", func(d *Data) { d.Recipients[1].Address = "" }, "destinatari[2]: missing"},
		{"bad recipient", func(d *Data) { d.Recipients[2].Address = "dave" }, `destinatari[3]: "dave" is not an addr-spec`},
		{"bad recipient tipo", func(d *Data) { d.Recipients[0].Type = "pec" }, `destinatari[1]/@tipo: invalid value "pec"`},
		{"no risposte", func(d *Data) { d.ReplyTo = "" }, "risposte: missing"},
		{"subject with NUL", func(d *Data) { d.Subject = "a\x00b" }, "oggetto: forbidden character U+0000"},
		{"subject with escape", func(d *Data) { d.Subject = "a\x1bb" }, "forbidden character U+001B"},
		{"subject with U+FFFE", func(d *Data) { d.Subject = "a\uFFFEb" }, "forbidden character U+FFFE"},
		{"subject invalid UTF-8", func(d *Data) { d.Subject = "a\xffb" }, "invalid UTF-8"},
		{"subject with leading space", func(d *Data) { d.Subject = " a" }, "white space"},
		{"subject with no-break space", func(d *Data) { d.Subject = "a\u00a0" }, "white space"},
		{"no gestore-emittente", func(d *Data) { d.Provider = "" }, "gestore-emittente: missing"},
		{"gestore-emittente with tab", func(d *Data) { d.Provider = "A\tB" }, "gestore-emittente: forbidden character"},
		{"no time", func(d *Data) { d.Time = time.Time{} }, "postacert/dati/data: missing"},
		{"year 999", func(d *Data) { d.Time = time.Date(999, 1, 1, 12, 0, 0, 0, time.UTC) }, "cannot be written"},
		{"local mean time", func(d *Data) { d.Time = time.Date(1880, 1, 1, 12, 0, 0, 0, pec.Location) }, "cannot be written"},
		{"year 10000", func(d *Data) { d.Time = time.Date(10000, 1, 1, 12, 0, 0, 0, time.UTC) }, "cannot be written"},
		{"no identificativo", func(d *Data) { d.ID = "" }, "identificativo: missing"},
		{"identificativo in brackets", func(d *Data) { d.ID = "<a@b>" }, "msg-id without brackets"},
		{"identificativo with space", func(d *Data) { d.ID = "a b@c" }, "msg-id without brackets"},
		{"msgid with control", func(d *Data) { d.MsgID = "<a\x7f@b>" }, "msgid: forbidden character"},
		{"bad ricevuta tipo", func(d *Data) { d.ReceiptType = "normale" }, `ricevuta/@tipo: invalid value "normale"`},
		{"bad consegna", func(d *Data) { d.Delivery = "bob" }, "consegna"},
		{"bad ricezione", func(d *Data) { d.Receipts[1] = "x" }, "ricezione[2]"},
		{"empty ricezione", func(d *Data) { d.Receipts[0] = "" }, "ricezione[1]: missing"},
		{"errore-esteso with control", func(d *Data) { d.ExtendedError = "a\x01" }, "errore-esteso: forbidden character"},
		{"errore-esteso trailing newline", func(d *Data) { d.ExtendedError = "a\n" }, "errore-esteso: leading or trailing white space"},
		{"rilevazione-virus, old form", func(d *Data) {
			d.Type, d.Delivery, d.Receipts = pec.CertVirusDetected, "", d.Receipts[:1]
		}, "rilevazione-virus names its recipient in consegna"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := fullData()
			tc.mod(d)
			err := d.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *ValidationError", err)
			}
			if len(ve.Problems) != 1 || !strings.Contains(ve.Problems[0], tc.want) {
				t.Fatalf("problems %q, want one containing %q", ve.Problems, tc.want)
			}
			b, err := d.Marshal()
			if b != nil || !errors.As(err, &ve) {
				t.Fatalf("Marshal = %q, %v; want the *ValidationError", b, err)
			}
		})
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	d := &Data{Type: "x", Recipients: []Recipient{{Address: "a"}, {Address: "b@c", Type: "y"}}}
	err := d.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate = %v", err)
	}
	want := []string{
		"postacert/@tipo", "mittente", "destinatari[1]", "destinatari[2]/@tipo",
		"risposte", "gestore-emittente", "data", "identificativo",
	}
	if len(ve.Problems) != len(want) {
		t.Errorf("%d problems, want %d: %q", len(ve.Problems), len(want), ve.Problems)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q does not mention %s", err, w)
		}
	}
	if !strings.HasPrefix(err.Error(), "daticert: invalid data: ") {
		t.Errorf("message %q", err)
	}

	var nilData *Data
	if err := nilData.Validate(); !errors.As(err, &ve) {
		t.Errorf("nil Data: %v", err)
	}
	if b, err := nilData.Marshal(); b != nil || err == nil {
		t.Errorf("nil Data Marshal: %q, %v", b, err)
	}
	if got := (&ValidationError{}).Error(); got != "daticert: invalid data" {
		t.Errorf("empty ValidationError: %q", got)
	}
}
