package pecmail_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"mime"
	"mime/quotedprintable"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/pecmail"
)

// badXML are the ways real daticert.xml goes wrong while the signature
// over it is intact (pec/daticert/repair.go): each mangles the XML of a
// transport envelope before it is signed.
var badXML = []struct {
	name    string
	sent    string // the subject the sender gave, in the headers; "" = the sample's
	mangle  func(x string) string
	subject string // oggetto as read back; "" = the sample's
	note    string // what the deviation says was mended
}{
	{"control-character", "Pratica\x16 n. 7", setSubject("Pratica\x16 n. 7"), "Pratica\uFFFD n. 7", "control character U+0016 replaced"},
	{"reference-to-control", "Pratica\x12 n. 7", setSubject("Pratica&#18; n. 7"), "Pratica\uFFFD n. 7", "(&#18;) replaced"},
	{"bare-ampersand", "Fatture A & B", setSubject("Fatture A & B"), "Fatture A & B", `bare "&" escaped`},
	{"bare-less-than", "Importo < 100 euro", setSubject("Importo < 100 euro"), "Importo < 100 euro", `bare "<" escaped`},
	{"latin1-undeclared", "Città di Roma", func(x string) string {
		return setSubject("Citt\xe0 di Roma")(strings.Replace(x, ` encoding="UTF-8"`, "", 1))
	}, "Città di Roma", "bytes not valid UTF-8 read as Windows-1252"},
	{"latin1-declared-utf8", "Città di Roma", setSubject("Citt\xe0 di Roma"), "Città di Roma", "bytes not valid UTF-8 read as Windows-1252"},
	{"unknown-encoding", "", func(x string) string {
		return strings.Replace(x, `encoding="UTF-8"`, `encoding="x-nessuna"`, 1)
	}, "", `unknown encoding "x-nessuna" ignored`},
	{"byte-order-mark-before-root", "", func(x string) string {
		return strings.Replace(x, "<postacert", "\uFEFF<postacert", 1)
	}, "", "byte order mark before the root element removed"},
}

// setSubject returns a mangling that puts raw, as it is, inside oggetto.
func setSubject(raw string) func(string) string {
	return func(x string) string {
		i := strings.Index(x, "<oggetto>")
		j := strings.Index(x, "</oggetto>")
		return x[:i+len("<oggetto>")] + raw + x[j:]
	}
}

// TestReadBadXML: a signed transport envelope whose daticert.xml is not
// well-formed XML is read whole. Every field of the certification data is
// recovered, the signature is intact and trusted, the message is OK, and
// the mending is reported as a deviation, not a problem.
func TestReadBadXML(t *testing.T) {
	s := sampleSet(t)
	idx, err := s.Index()
	if err != nil {
		t.Fatal(err)
	}
	opts := &smime.VerifyOptions{Authority: idx}
	want := s.Data[pec.KindTransport]
	for _, tc := range badXML {
		t.Run(tc.name, func(t *testing.T) {
			msg := resign(t, s.Messages[pec.KindTransport], s.Sender, want, tc.sent, tc.mangle)
			m, err := pecmail.Read(bytes.NewReader(msg), opts)
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != pec.KindTransport || !m.IsPEC() || len(m.Problems) != 0 {
				t.Fatalf("kind %s, PEC %v, problems %v", m.Kind, m.IsPEC(), m.Problems)
			}
			if v := m.Signature; v == nil || !v.Intact || v.Trusted == nil || !*v.Trusted || !m.OK() {
				t.Fatalf("signature %+v, OK %v", v, m.OK())
			}
			subject := tc.subject
			if subject == "" {
				subject = want.Subject
			}
			sameData(t, m.Data, want, subject)
			if !hasDeviation(m.Deviations, tc.note) {
				t.Errorf("deviations %q, want one saying %q", m.Deviations, tc.note)
			}
		})
	}
}

// TestInspectBadXML: "pec inspect --json" says of the same messages what
// Read says: the certification data whole, the deviation, OK.
func TestInspectBadXML(t *testing.T) {
	bin := buildTool(t)
	s := sampleSet(t)
	dir := t.TempDir()
	ldif, err := s.IndexLDIF()
	if err != nil {
		t.Fatal(err)
	}
	idxFile := filepath.Join(dir, "index.ldif")
	if err := os.WriteFile(idxFile, ldif, 0o644); err != nil {
		t.Fatal(err)
	}
	want := s.Data[pec.KindTransport]
	var files []string
	for _, tc := range badXML {
		p := filepath.Join(dir, tc.name+".eml")
		if err := os.WriteFile(p, resign(t, s.Messages[pec.KindTransport], s.Sender, want, tc.sent, tc.mangle), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	out, err := exec.Command(bin, append([]string{"inspect", "--json", "--ldif", idxFile}, files...)...).Output()
	if err != nil {
		t.Fatalf("pec inspect: %v\n%s", err, out)
	}
	type report struct {
		File     string `json:"file"`
		Kind     string `json:"kind"`
		OK       bool   `json:"ok"`
		Daticert *struct {
			Mittente    string `json:"mittente"`
			Destinatari []struct {
				Tipo      string `json:"tipo"`
				Indirizzo string `json:"indirizzo"`
			} `json:"destinatari"`
			Risposte       string  `json:"risposte"`
			Oggetto        string  `json:"oggetto"`
			Gestore        string  `json:"gestore-emittente"`
			Identificativo string  `json:"identificativo"`
			MsgID          *string `json:"msgid"`
			Data           struct {
				Giorno string `json:"giorno"`
				Ora    string `json:"ora"`
			} `json:"data"`
		} `json:"daticert"`
		Signature struct {
			Intact  bool  `json:"intact"`
			Trusted *bool `json:"trusted"`
		} `json:"signature"`
		Deviations []string `json:"deviations"`
		Problems   []string `json:"problems"`
	}
	got := map[string]report{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r report
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%q: %v", sc.Bytes(), err)
		}
		got[filepath.Base(r.File)] = r
	}
	for _, tc := range badXML {
		r, ok := got[tc.name+".eml"]
		if !ok {
			t.Errorf("%s: not reported", tc.name)
			continue
		}
		d := r.Daticert
		if r.Kind != pec.KindTransport.String() || !r.OK || !r.Signature.Intact || r.Signature.Trusted == nil || !*r.Signature.Trusted || len(r.Problems) != 0 || d == nil {
			t.Errorf("%s: %+v", tc.name, r)
			continue
		}
		subject := tc.subject
		if subject == "" {
			subject = want.Subject
		}
		var dest, wantDest []string
		for _, x := range d.Destinatari {
			dest = append(dest, x.Tipo+" "+x.Indirizzo)
		}
		for _, x := range want.Recipients {
			wantDest = append(wantDest, string(x.Type)+" "+x.Address)
		}
		// Identifiers are printed without angle brackets, as everywhere
		// in the API (client package documentation, "Identifiers").
		if d.Mittente != want.Sender || d.Risposte != want.ReplyTo || d.Oggetto != subject || d.Gestore != want.Provider ||
			d.Identificativo != want.ID || d.MsgID == nil || *d.MsgID != pec.NormalizeMsgID(want.MsgID) ||
			d.Data.Giorno != want.Time.Format(pec.DayLayout) || d.Data.Ora != want.Time.Format(pec.TimeLayout) ||
			!slices.Equal(dest, wantDest) {
			t.Errorf("%s: daticert %+v, want %+v", tc.name, d, want)
		}
		if !hasDeviation(r.Deviations, tc.note) {
			t.Errorf("%s: deviations %q, want one saying %q", tc.name, r.Deviations, tc.note)
		}
	}
}

// sameData fails t unless got holds every field of want, with oggetto
// subject.
func sameData(t *testing.T, got, want *daticert.Data, subject string) {
	t.Helper()
	if got == nil {
		t.Fatal("no certification data")
	}
	if got.Type != want.Type || got.Error != want.Error || got.Sender != want.Sender || got.ReplyTo != want.ReplyTo ||
		got.Subject != subject || got.Provider != want.Provider || !got.Time.Equal(want.Time) ||
		got.ID != want.ID || got.MsgID != want.MsgID || got.ReceiptType != want.ReceiptType {
		t.Errorf("data\n got %+v\nwant %+v (oggetto %q)", got, want, subject)
	}
	if !slices.Equal(got.Recipients, want.Recipients) {
		t.Errorf("destinatari %+v, want %+v", got.Recipients, want.Recipients)
	}
}

// hasDeviation reports whether one of deviations says that daticert.xml
// was not well-formed and names note.
func hasDeviation(deviations []string, note string) bool {
	for _, d := range deviations {
		if strings.HasPrefix(d, pec.CertDataName+" is not well-formed XML") && strings.Contains(d, note) {
			return true
		}
	}
	return false
}

// resign returns msg, a signed PEC message certifying d, with its
// daticert.xml passed through mangle and signed again by s as of d.Time:
// the signature is intact over the mangled XML, as a provider that wrote
// it would have signed it. When sent is not "", the headers, the body text
// and the original carry it as the subject instead of d.Subject, as they
// would have for a sender who gave that subject.
func resign(t *testing.T, msg []byte, s *smime.Signer, d *daticert.Data, sent string, mangle func(string) string) []byte {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(msg))
	h, err := textproto.ReadHeader(br)
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		t.Fatalf("Content-Type %q: %v", h.Get("Content-Type"), err)
	}
	body := msg[bytes.Index(msg, []byte("\r\n\r\n"))+4:]
	delim := "--" + params["boundary"] + "\r\n"
	start := strings.Index(string(body), delim)
	end := -1
	if start >= 0 {
		end = strings.Index(string(body[start:]), "\r\n"+delim)
	}
	if end < 0 {
		t.Fatal("no signed content")
	}
	content := string(body[start+len(delim) : start+end])
	if sent != "" {
		h.Set("Subject", mime.QEncoding.Encode("utf-8", pec.Subject(pec.KindTransport, sent)))
		content = strings.Replace(content, "\r\nSubject: "+d.Subject+"\r\n", "\r\nSubject: "+mime.QEncoding.Encode("utf-8", sent)+"\r\n", 1)
		var qp strings.Builder
		w := quotedprintable.NewWriter(&qp)
		w.Write([]byte(sent))
		w.Close()
		content = strings.ReplaceAll(content, d.Subject, qp.String())
		if strings.Contains(content, d.Subject) {
			t.Fatal("the subject is still there")
		}
	}

	// The daticert.xml part: its header names it, its body is base64.
	i := strings.Index(content, "filename="+pec.CertDataName)
	if i < 0 {
		i = strings.Index(content, `filename="`+pec.CertDataName+`"`)
	}
	if i < 0 {
		t.Fatal("no daticert.xml part")
	}
	i += strings.Index(content[i:], "\r\n\r\n") + 4
	j := i + strings.Index(content[i:], "\r\n--")
	xml, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(content[i:j]))
	if err != nil {
		t.Fatal(err)
	}
	mangled := mangle(string(xml))
	if mangled == string(xml) {
		t.Fatal("the mangling changed nothing")
	}
	// The strict reading fails: the tolerant one mends it, and says so.
	if d, err := daticert.Unmarshal([]byte(mangled)); err != nil || len(d.Repairs) == 0 {
		t.Fatalf("the mangled XML: %v, repairs %v:\n%s", err, d, mangled)
	}
	enc := base64.StdEncoding.EncodeToString([]byte(mangled))
	var b64 strings.Builder
	for len(enc) > 76 {
		b64.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b64.WriteString(enc)
	content = content[:i] + b64.String() + content[j:]

	var out bytes.Buffer
	w, err := s.NewWriter(&out, h, d.Time)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
