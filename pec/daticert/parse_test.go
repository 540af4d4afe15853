package daticert

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec"
)

// namirial is the transport envelope of PEC.md §8.4 (Namirial, 2024): four
// spaces of indentation, "<ricevuta ... />" with a space.
const namirial = `<?xml version="1.0" encoding="UTF-8"?>
<postacert tipo="posta-certificata" errore="nessuno">
    <intestazione>
        <mittente>sender@namirialpec.it</mittente>
        <destinatari tipo="esterno">r1@example.org</destinatari>
        <destinatari tipo="esterno">r2@example.net</destinatari>
        <risposte>sender@namirialpec.it</risposte>
        <oggetto>Subject text</oggetto>
    </intestazione>
    <dati>
        <gestore-emittente>Namirial S.p.A.</gestore-emittente>
        <data zona="+0100">
            <giorno>05/12/2024</giorno>
            <ora>00:02:10</ora>
        </data>
        <identificativo>opec21192.20241205000210.24820.46.1.184@sicurezzapostale.it</identificativo>
        <msgid>&lt;2839ed57-e664-4020-bb69-6a8cb92d05a6@email.android.com&gt;</msgid>
        <ricevuta tipo="completa" />
    </dati>
</postacert>
`

// namirialData is what namirial holds.
func namirialData() *Data {
	return &Data{
		Type:   pec.CertTransport,
		Error:  pec.ErrorNone,
		Sender: "sender@namirialpec.it",
		Recipients: []Recipient{
			{Address: "r1@example.org", Type: pec.RecipientExternal},
			{Address: "r2@example.net", Type: pec.RecipientExternal},
		},
		ReplyTo:     "sender@namirialpec.it",
		Subject:     "Subject text",
		Provider:    "Namirial S.p.A.",
		Time:        time.Date(2024, 12, 5, 0, 2, 10, 0, time.FixedZone("", 3600)),
		ID:          "opec21192.20241205000210.24820.46.1.184@sicurezzapostale.it",
		MsgID:       "<2839ed57-e664-4020-bb69-6a8cb92d05a6@email.android.com>",
		ReceiptType: pec.ReceiptFull,
	}
}

// doc is a compact daticert.xml built from parts, for variations.
type doc struct {
	decl, doctype, rootAttrs, header, data, trailer string
}

func (d doc) String() string {
	return d.decl + d.doctype + `<postacert` + d.rootAttrs + `>` + d.header + d.data + `</postacert>` + d.trailer
}

const (
	stdHeader = `<intestazione><mittente>sender@namirialpec.it</mittente>` +
		`<destinatari tipo="esterno">r1@example.org</destinatari>` +
		`<destinatari tipo="esterno">r2@example.net</destinatari>` +
		`<risposte>sender@namirialpec.it</risposte><oggetto>Subject text</oggetto></intestazione>`
	stdData = `<dati><gestore-emittente>Namirial S.p.A.</gestore-emittente>` +
		`<data zona="+0100"><giorno>05/12/2024</giorno><ora>00:02:10</ora></data>` +
		`<identificativo>opec21192.20241205000210.24820.46.1.184@sicurezzapostale.it</identificativo>` +
		`<msgid>&lt;2839ed57-e664-4020-bb69-6a8cb92d05a6@email.android.com&gt;</msgid>` +
		`<ricevuta tipo="completa"/></dati>`
)

func std() doc {
	return doc{decl: `<?xml version="1.0" encoding="UTF-8"?>`, rootAttrs: ` tipo="posta-certificata" errore="nessuno"`, header: stdHeader, data: stdData}
}

func latin(s string) string { // s with every rune below 256 as one byte
	var b []byte
	for _, r := range s {
		b = append(b, byte(r))
	}
	return string(b)
}

// tolerantCases are inputs real providers (or plausible ones) write, each
// with the change it makes to namirialData.
var tolerantCases = []struct {
	name string
	in   string
	mod  func(*Data)
}{
	{"namirial 2024", namirial, nil},
	{"compact", std().String(), nil},
	{"CRLF and tabs", strings.NewReplacer("\n", "\r\n", "    ", "\t").Replace(namirial), nil},
	{"white space inside text", strings.Replace(namirial, "<mittente>sender@namirialpec.it</mittente>",
		"<mittente>\n\t   sender@namirialpec.it \r\n </mittente>", 1), nil},
	{"no declaration", func() string { d := std(); d.decl = ""; return d.String() }(), nil},
	{"UTF-8 byte order mark", "\xEF\xBB\xBF" + namirial, nil},
	{"doctype", func() string {
		d := std()
		d.doctype = "\n<!DOCTYPE postacert SYSTEM \"daticert.dtd\">\n"
		return d.String()
	}(), nil},
	{"doctype with unused entities and external parameter entity", func() string {
		d := std()
		d.doctype = `<!DOCTYPE postacert [<!ENTITY x "y"><!ENTITY ext SYSTEM "file:///etc/passwd"><!ENTITY % p SYSTEM "http://192.0.2.1/x.dtd"> %p;]>`
		return d.String()
	}(), nil},
	{"children in any order", doc{rootAttrs: ` errore="nessuno" tipo="posta-certificata"`,
		header: stdData,
		data: `<intestazione><oggetto>Subject text</oggetto><risposte>sender@namirialpec.it</risposte>` +
			`<destinatari tipo="esterno">r1@example.org</destinatari><mittente>sender@namirialpec.it</mittente>` +
			`<destinatari tipo="esterno">r2@example.net</destinatari></intestazione>`}.String(), nil},
	{"unknown elements and attributes", func() string {
		d := std()
		d.rootAttrs += ` versione="2.0" xmlns:x="urn:x" x:tipo="ignored"`
		d.header = strings.Replace(d.header, "<intestazione>",
			`<intestazione id="1"><x-provider a="b"><mittente>evil@example.com</mittente><deep><deeper/></deep></x-provider>`, 1)
		d.data = strings.Replace(d.data, "</dati>", `<firma algoritmo="x">abc</firma></dati>`, 1)
		d.trailer = ""
		return strings.Replace(d.String(), "</postacert>", "<estensione><oggetto>no</oggetto></estensione></postacert>", 1)
	}(), nil},
	{"stray text between elements", strings.Replace(namirial, "</risposte>", "</risposte>a", 1), nil},
	{"comments, processing instructions, CDATA", func() string {
		d := std()
		d.header = strings.Replace(d.header, "<oggetto>Subject text</oggetto>",
			`<!-- c --><oggetto><![CDATA[Subject]]><?pi x?> <!-- c -->text</oggetto>`, 1)
		d.trailer = "\n<!-- end -->\n<?pi after?>\n"
		return d.String()
	}(), nil},
	{"character and entity references", strings.Replace(namirial, "Subject text", "S&#117;bject&#x20;text &amp; &lt;&gt;&quot;&apos;", 1),
		func(d *Data) { d.Subject = `Subject text & <>"'` }},
	{"upper-case attribute values", strings.NewReplacer(`"posta-certificata"`, `"POSTA-CERTIFICATA"`,
		`"nessuno"`, `"Nessuno"`, `"esterno"`, `" Esterno "`, `"completa"`, `"COMPLETA"`).Replace(namirial), nil},
	{"zone with colon", strings.Replace(namirial, `"+0100"`, `"+01:00"`, 1), nil},
	{"zone with spaces", strings.Replace(namirial, `"+0100"`, `" +0100 "`, 1), nil},
	{"zone UTC", strings.Replace(namirial, `"+0100"`, `"Z"`, 1),
		func(d *Data) { d.Time = time.Date(2024, 12, 5, 0, 2, 10, 0, time.FixedZone("", 0)) }},
	{"single quotes", strings.ReplaceAll(namirial, `"`, `'`), nil},
	{"default errore and destinatari tipo", strings.NewReplacer(` errore="nessuno"`, ``, ` tipo="esterno"`, ``).Replace(namirial),
		func(d *Data) {
			for i := range d.Recipients {
				d.Recipients[i].Type = pec.RecipientCertified
			}
		}},
	{"optional elements absent", func() string {
		d := std()
		d.header = strings.Replace(d.header, "<oggetto>Subject text</oggetto>", "", 1)
		d.data = `<dati><gestore-emittente>Namirial S.p.A.</gestore-emittente>` +
			`<data zona="+0100"><giorno>05/12/2024</giorno><ora>00:02:10</ora></data>` +
			`<identificativo>opec21192.20241205000210.24820.46.1.184@sicurezzapostale.it</identificativo></dati>`
		return d.String()
	}(), func(d *Data) { d.Subject, d.MsgID, d.ReceiptType = "", "", "" }},
	{"empty oggetto and msgid", strings.NewReplacer("<oggetto>Subject text</oggetto>", "<oggetto/>",
		"<msgid>&lt;2839ed57-e664-4020-bb69-6a8cb92d05a6@email.android.com&gt;</msgid>", "<msgid> </msgid>").Replace(namirial),
		func(d *Data) { d.Subject, d.MsgID = "", "" }},
	{"root in a namespace", strings.Replace(namirial, `<postacert `, `<postacert xmlns="urn:example:pec" `, 1), nil},
	{"ISO-8859-1", latin(strings.NewReplacer(`encoding="UTF-8"`, `encoding="ISO-8859-1"`,
		"Subject text", "Perché è già così").Replace(namirial)),
		func(d *Data) { d.Subject = "Perché è già così" }},
	{"latin1 label", latin(strings.NewReplacer(`encoding="UTF-8"`, `encoding="latin1"`,
		"Subject text", "Città").Replace(namirial)),
		func(d *Data) { d.Subject = "Città" }},
	{"windows-1252", strings.NewReplacer(`encoding="UTF-8"`, `encoding="Windows-1252"`,
		"Subject text", "Fattura \x80 100 \x93ok\x94 \xe8").Replace(namirial),
		func(d *Data) { d.Subject = "Fattura € 100 “ok” è" }},
	{"ISO-8859-15", strings.NewReplacer(`encoding="UTF-8"`, `encoding="iso-8859-15"`,
		"Subject text", "\xa4 \xbd").Replace(namirial),
		func(d *Data) { d.Subject = "€ œ" }},
	{"US-ASCII", strings.Replace(namirial, `encoding="UTF-8"`, `encoding="US-ASCII"`, 1), nil},
	{"lower-case utf-8", strings.Replace(namirial, `encoding="UTF-8"`, `encoding="utf-8"`, 1), nil},
	{"rilevazione-virus, old ricezione", func() string {
		d := std()
		d.rootAttrs = ` tipo="rilevazione-virus" errore="virus"`
		d.data = strings.Replace(d.data, `<ricevuta tipo="completa"/>`, `<ricezione>r1@example.org</ricezione>`, 1)
		return d.String()
	}(), func(d *Data) {
		d.Type, d.Error, d.ReceiptType, d.Delivery = pec.CertVirusDetected, pec.ErrorVirus, "", "r1@example.org"
	}},
	{"rilevazione-virus, consegna", func() string {
		d := std()
		d.rootAttrs = ` tipo="rilevazione-virus" errore="virus"`
		d.data = strings.Replace(d.data, `<ricevuta tipo="completa"/>`, `<consegna>r1@example.org</consegna>`, 1)
		return d.String()
	}(), func(d *Data) {
		d.Type, d.Error, d.ReceiptType, d.Delivery = pec.CertVirusDetected, pec.ErrorVirus, "", "r1@example.org"
	}},
	{"presa-in-carico, several ricezione", func() string {
		d := std()
		d.rootAttrs = ` tipo="presa-in-carico"`
		d.data = strings.Replace(d.data, `<ricevuta tipo="completa"/>`,
			`<ricezione>r1@example.org</ricezione><ricezione> r2@example.net </ricezione>`, 1)
		return d.String()
	}(), func(d *Data) {
		d.Type, d.ReceiptType, d.Receipts = pec.CertTakeInCharge, "", []string{"r1@example.org", "r2@example.net"}
	}},
	{"errore-consegna", func() string {
		d := std()
		d.rootAttrs = ` tipo="errore-consegna" errore="no-dest"`
		d.data = strings.Replace(d.data, `<ricevuta tipo="completa"/>`,
			`<consegna>r1@example.org</consegna><errore-esteso>5.1.1 - Namirial - utente sconosciuto</errore-esteso>`, 1)
		return d.String()
	}(), func(d *Data) {
		d.Type, d.Error, d.ReceiptType = pec.CertDeliveryError, pec.ErrorNoDest, ""
		d.Delivery, d.ExtendedError = "r1@example.org", "5.1.1 - Namirial - utente sconosciuto"
	}},
}

func TestParseTolerant(t *testing.T) {
	for _, tc := range tolerantCases {
		t.Run(tc.name, func(t *testing.T) {
			want := namirialData()
			if tc.mod != nil {
				tc.mod(want)
			}
			got, err := Parse(strings.NewReader(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := diffData(got, want, true); diff != "" {
				t.Fatal(diff)
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

// TestParseErrors checks that documents missing what the DTD requires, or
// holding values outside the enumerations, give a *ParseError naming the
// element or attribute, and the right cause.
func TestParseErrors(t *testing.T) {
	missing := func(old string) string { return strings.Replace(std().String(), old, "", 1) }
	replace := func(old, new string) string { return strings.Replace(std().String(), old, new, 1) }
	tests := []struct {
		name  string
		in    string
		path  string
		cause error // matched with errors.Is; nil means a *pec.ValueError
	}{
		{"no tipo", missing(` tipo="posta-certificata"`), "postacert/@tipo", ErrMissing},
		{"no intestazione", replace(stdHeader, ""), "postacert/intestazione", ErrMissing},
		{"no mittente", missing(`<mittente>sender@namirialpec.it</mittente>`), "postacert/intestazione/mittente", ErrMissing},
		{"no destinatari", replace(stdHeader, `<intestazione><mittente>a@b.it</mittente><risposte>a@b.it</risposte></intestazione>`),
			"postacert/intestazione/destinatari", ErrMissing},
		{"no risposte", missing(`<risposte>sender@namirialpec.it</risposte>`), "postacert/intestazione/risposte", ErrMissing},
		{"no dati", replace(stdData, ""), "postacert/dati", ErrMissing},
		{"no gestore-emittente", missing(`<gestore-emittente>Namirial S.p.A.</gestore-emittente>`), "postacert/dati/gestore-emittente", ErrMissing},
		{"no data", missing(`<data zona="+0100"><giorno>05/12/2024</giorno><ora>00:02:10</ora></data>`), "postacert/dati/data", ErrMissing},
		{"no giorno", missing(`<giorno>05/12/2024</giorno>`), "postacert/dati/data/giorno", ErrMissing},
		{"no ora", missing(`<ora>00:02:10</ora>`), "postacert/dati/data/ora", ErrMissing},
		{"no zona", missing(` zona="+0100"`), "postacert/dati/data/@zona", ErrMissing},
		{"no identificativo", missing(`<identificativo>opec21192.20241205000210.24820.46.1.184@sicurezzapostale.it</identificativo>`),
			"postacert/dati/identificativo", ErrMissing},
		{"ricevuta without tipo", replace(`<ricevuta tipo="completa"/>`, `<ricevuta/>`), "postacert/dati/ricevuta/@tipo", ErrMissing},
		{"mittente in the wrong place", replace(`<mittente>sender@namirialpec.it</mittente>`, `<x><mittente>a@b.it</mittente></x>`),
			"postacert/intestazione/mittente", ErrMissing},
		{"two mittente", replace(`<risposte>`, `<mittente>other@example.com</mittente><risposte>`), "postacert/intestazione/mittente", ErrDuplicate},
		{"two identificativo", replace(`<msgid>`, `<identificativo>x@y</identificativo><msgid>`), "postacert/dati/identificativo", ErrDuplicate},
		{"two dati", replace(stdData, stdData+stdData), "postacert/dati", ErrDuplicate},
		{"two consegna", replace(`</dati>`, `<consegna>a@b.it</consegna><consegna>c@d.it</consegna></dati>`), "postacert/dati/consegna", ErrDuplicate},
		{"tipo mancata-consegna", replace(`"posta-certificata"`, `"mancata-consegna"`), "postacert/@tipo", nil},
		{"empty tipo", replace(`"posta-certificata"`, `""`), "postacert/@tipo", nil},
		{"errore unknown", replace(`errore="nessuno"`, `errore="boh"`), "postacert/@errore", nil},
		{"destinatari tipo unknown", replace(`<destinatari tipo="esterno">r2`, `<destinatari tipo="pec">r2`),
			"postacert/intestazione/destinatari[2]/@tipo", nil},
		{"ricevuta tipo normale", replace(`tipo="completa"`, `tipo="normale"`), "postacert/dati/ricevuta/@tipo", nil},
		{"bad giorno", replace(`05/12/2024`, `31/02/2024`), "postacert/dati/data/giorno", nil},
		{"bad ora", replace(`00:02:10`, `25:00:00`), "postacert/dati/data/ora", nil},
		{"bad zona", replace(`"+0100"`, `"CET"`), "postacert/dati/data/@zona", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Unmarshal([]byte(tc.in))
			if err == nil {
				t.Fatalf("no error; got %+v", d)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ParseError", err, err)
			}
			if pe.Path != tc.path {
				t.Errorf("Path = %q, want %q (%v)", pe.Path, tc.path, err)
			}
			if pe.Offset < 0 || pe.Offset > int64(len(tc.in)) {
				t.Errorf("Offset = %d out of range", pe.Offset)
			}
			if tc.cause != nil {
				if !errors.Is(err, tc.cause) {
					t.Errorf("error %v is not %v", err, tc.cause)
				}
			} else if ve := (*pec.ValueError)(nil); !errors.As(err, &ve) {
				t.Errorf("error %v does not wrap a *pec.ValueError", err)
			}
			if !strings.Contains(err.Error(), tc.path) {
				t.Errorf("message %q does not name %s", err, tc.path)
			}
		})
	}
}

// endless is a reader that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// TestParseHostile checks that hostile input fails fast with a typed error,
// never hangs, panics or expands entities.
func TestParseHostile(t *testing.T) {
	laughs := `<?xml version="1.0"?><!DOCTYPE postacert [<!ENTITY lol "lol">` +
		`<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">` +
		`<!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>` +
		`<postacert tipo="accettazione"><intestazione><mittente>&lol9;</mittente></intestazione></postacert>`
	xxe := `<?xml version="1.0"?><!DOCTYPE postacert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` +
		strings.Replace(std().String(), "Subject text", "&xxe;", 1)
	deep := `<postacert tipo="accettazione">` + strings.Repeat("<a>", MaxDepth) + strings.Repeat("</a>", MaxDepth) + `</postacert>`
	full := std().String()
	exact := full + strings.Repeat(" ", MaxSize-len(full))
	tests := []struct {
		name   string
		in     io.Reader
		cause  error
		syntax bool // the cause also unwraps to an *xml.SyntaxError
	}{
		{"over MaxSize", strings.NewReader(full + strings.Repeat(" ", MaxSize+1-len(full))), pec.ErrTooLarge, false},
		{"endless", endless{}, pec.ErrTooLarge, false},
		{"deep", strings.NewReader(deep), ErrTooDeep, false},
		{"deep and unterminated", strings.NewReader(`<postacert>` + strings.Repeat("<a>", MaxSize/3-5)), ErrTooDeep, false},
		{"billion laughs", strings.NewReader(laughs), pec.ErrMalformed, true},
		{"external entity", strings.NewReader(xxe), pec.ErrMalformed, true},
		{"empty", strings.NewReader(""), pec.ErrMalformed, false},
		{"white space only", strings.NewReader(" \n\t "), pec.ErrMalformed, false},
		{"garbage", strings.NewReader("\x00\x01\x02binary\xff\xfe"), pec.ErrMalformed, false},
		{"text", strings.NewReader("hello, world"), pec.ErrMalformed, false},
		{"truncated", strings.NewReader(full[:len(full)/2]), pec.ErrMalformed, true},
		{"truncated in a tag", strings.NewReader(full[:len(full)-3]), pec.ErrMalformed, true},
		{"mismatched end tag", strings.NewReader(strings.Replace(full, "</oggetto>", "</object>", 1)), pec.ErrMalformed, true},
		{"second root", strings.NewReader(full + "<postacert/>"), pec.ErrMalformed, false},
		{"wrong root", strings.NewReader(`<?xml version="1.0"?><FatturaElettronica versione="FPR12"/>`), ErrNotDaticert, false},
		{"wrong root case", strings.NewReader(strings.ReplaceAll(full, "postacert", "PostaCert")), ErrNotDaticert, false},
		{"HTML", strings.NewReader("<html><body>postacert</body></html>"), ErrNotDaticert, false},
		{"encoding declared again", strings.NewReader(`<?xml version="1.0" encoding="latin1"?><postacert>` +
			strings.Repeat(`<?xml version="1.0" encoding="latin1"?>`, 40) + "<oggetto>\xff\xff</oggetto></postacert>"), pec.ErrMalformed, false},
		{"XML 1.1", strings.NewReader(strings.Replace(full, `version="1.0"`, `version="1.1"`, 1)), pec.ErrMalformed, false},
		{"read error", failingReader{}, io.ErrUnexpectedEOF, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			d, err := Parse(tc.in)
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("took %v", elapsed)
			}
			if err == nil {
				t.Fatalf("no error; got %+v", d)
			}
			if d != nil {
				t.Errorf("data %+v returned with error", d)
			}
			if !errors.Is(err, tc.cause) {
				t.Fatalf("error %v is not %v", err, tc.cause)
			}
			var pe *ParseError
			if tc.cause != io.ErrUnexpectedEOF && !errors.As(err, &pe) {
				t.Errorf("error %T is not a *ParseError", err)
			}
			var se *xml.SyntaxError
			if tc.syntax && !errors.As(err, &se) {
				t.Errorf("error %v does not wrap an *xml.SyntaxError", err)
			}
			if strings.Contains(err.Error(), "root:") || strings.Contains(err.Error(), "lollol") {
				t.Errorf("entity expanded: %v", err)
			}
		})
	}

	t.Run("exactly MaxSize", func(t *testing.T) {
		if len(exact) != MaxSize {
			t.Fatalf("len = %d", len(exact))
		}
		if _, err := Parse(strings.NewReader(exact)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("MaxDepth levels", func(t *testing.T) {
		n := MaxDepth - 2 // unknown elements inside postacert > dati
		in := strings.Replace(full, "</dati>", strings.Repeat("<a>", n)+strings.Repeat("</a>", n)+"</dati>", 1)
		if _, err := Unmarshal([]byte(in)); err != nil {
			t.Fatal(err)
		}
		in = strings.Replace(full, "</dati>", strings.Repeat("<a>", n+1)+strings.Repeat("</a>", n+1)+"</dati>", 1)
		if _, err := Unmarshal([]byte(in)); !errors.Is(err, ErrTooDeep) {
			t.Fatalf("one level more: %v", err)
		}
	})
}

func TestParseErrorMessage(t *testing.T) {
	tests := []struct {
		err  *ParseError
		want string
	}{
		{&ParseError{Path: "postacert/dati", Offset: 12, Err: ErrMissing}, "daticert: postacert/dati at byte 12: missing required element or attribute"},
		{&ParseError{Offset: -1, Err: pec.ErrMalformed}, "daticert: malformed message"},
		{&ParseError{Path: "postacert/@tipo", Offset: -1, Err: &pec.ValueError{What: "tipo", Value: "x"}}, `daticert: postacert/@tipo: invalid tipo value "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q", got)
			}
		})
	}
	if _, err := Unmarshal(bytes.Repeat([]byte(" "), MaxSize+1)); err == nil || !strings.Contains(err.Error(), "input too large") {
		t.Errorf("too large: %v", err)
	}
}
