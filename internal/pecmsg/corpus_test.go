package pecmsg

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pecsdk/pec/internal/testenv"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/smime"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// summary is what a corpus message must parse to; it is kept as a golden
// file per message, reviewed against the message by hand.
type summary struct {
	Kind       string   `json:"kind"`
	Type       string   `json:"tipo,omitempty"`
	Error      string   `json:"errore,omitempty"`
	Sender     string   `json:"mittente,omitempty"`
	Recipients []string `json:"destinatari,omitempty"`
	ReplyTo    string   `json:"risposte,omitempty"`
	Subject    string   `json:"oggetto,omitempty"`
	Provider   string   `json:"gestore,omitempty"`
	Date       string   `json:"data,omitempty"`
	ID         string   `json:"identificativo,omitempty"`
	MsgID      string   `json:"msgid,omitempty"`
	Receipt    string   `json:"ricevuta,omitempty"`
	Delivery   string   `json:"consegna,omitempty"`
	Receipts   []string `json:"ricezione,omitempty"`
	Extended   string   `json:"errore-esteso,omitempty"`
	Signed     bool     `json:"signed"`
	Present    bool     `json:"present"`
	Intact     bool     `json:"intact"`
	Signer     string   `json:"signer,omitempty"`
	Hashes     int      `json:"hashes,omitempty"`
	HasOrig    bool     `json:"original"`
	Problems   []string `json:"problems,omitempty"`
}

func summarize(m *Message) summary {
	s := summary{Kind: m.Kind.String(), HasOrig: m.Original != nil, Hashes: len(m.Hashes)}
	if d := m.Data; d != nil {
		s.Type, s.Error, s.Sender, s.Subject, s.Provider = string(d.Type), string(d.Error), d.Sender, d.Subject, d.Provider
		s.Date = d.Time.Format("2006-01-02T15:04:05-0700")
		s.ID, s.MsgID, s.Receipt, s.Delivery, s.Extended = d.ID, d.MsgID, string(d.ReceiptType), d.Delivery, d.ExtendedError
		s.ReplyTo, s.Receipts = d.ReplyTo, d.Receipts
		for _, r := range d.Recipients {
			s.Recipients = append(s.Recipients, r.Address+" ("+string(r.Type)+")")
		}
	}
	if v := m.Signature; v != nil {
		s.Signed, s.Present, s.Intact, s.Signer = true, v.Present, v.Intact, v.SignerEmail
	}
	for _, p := range m.Problems {
		s.Problems = append(s.Problems, p.Error())
	}
	return s
}

func parseBytes(t *testing.T, b []byte) *Message {
	t.Helper()
	m, err := Parse(bytes.NewReader(b), int64(len(b)), &smime.VerifyOptions{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

// manifestKinds maps the corpus MANIFEST kind column to our kinds.
var manifestKinds = map[string][]pec.Kind{
	"envelope":          {pec.KindTransport},
	"accettazione":      {pec.KindAcceptance},
	"avvenuta-consegna": {pec.KindDelivery, pec.KindDeliveryShort, pec.KindDeliverySummary},
	"errore-consegna":   {pec.KindDeliveryError},
}

func TestCorpus(t *testing.T) {
	dir := testenv.Corpus(t)
	manifest, err := os.ReadFile(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(manifest)), "\n")[1:] {
		cols := strings.Split(line, "\t")
		name, kind, verdict := cols[0], cols[1], cols[len(cols)-1]
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			m := parseBytes(t, b)
			ok := false
			for _, k := range manifestKinds[kind] {
				ok = ok || m.Kind == k
			}
			if !ok {
				t.Errorf("kind %s, manifest says %s", m.Kind, kind)
			}
			// The manifest records what openssl smime -verify -noverify said.
			if intact := m.Signature != nil && m.Signature.Intact; intact != (verdict == "OK") {
				t.Errorf("intact = %v, openssl verdict %s", intact, verdict)
			}
			golden(t, filepath.Join("testdata", "corpus", strings.TrimSuffix(name, ".eml")+".json"), summarize(m))
		})
	}
}

func golden(t *testing.T, path string, got summary) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("%s differs:\n got %s\nwant %s", path, b, want)
	}
}

// TestCorpusWrapped forwards every corpus message as an attachment of
// another message, plain and base64-encoded, and requires the same reading
// of it, signature included.
func TestCorpusWrapped(t *testing.T) {
	for _, f := range testenv.CorpusFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want := summarize(parseBytes(t, b))
		want.Problems = nil
		for _, enc := range []string{"7bit", "base64"} {
			t.Run(filepath.Base(f)+"/"+enc, func(t *testing.T) {
				w := wrap(b, enc)
				m := parseBytes(t, w)
				if !m.Wrapped {
					t.Error("Wrapped = false")
				}
				got := summarize(m)
				got.Problems = nil
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(want)
				if !bytes.Equal(gj, wj) {
					t.Errorf("wrapped reading differs:\n got %s\nwant %s", gj, wj)
				}
			})
		}
	}
}

func wrap(msg []byte, enc string) []byte {
	var b bytes.Buffer
	b.WriteString("From: archivio@example.org\r\nTo: ufficio@example.org\r\nSubject: Fwd: PEC\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"wrap-1\"\r\n\r\n" +
		"--wrap-1\r\nContent-Type: text/plain\r\n\r\nVedi messaggio allegato.\r\n" +
		"--wrap-1\r\nContent-Type: message/rfc822; name=\"pec.eml\"\r\nContent-Transfer-Encoding: " + enc + "\r\n\r\n")
	if enc == "base64" {
		s := base64.StdEncoding.EncodeToString(msg)
		for len(s) > 76 {
			b.WriteString(s[:76] + "\r\n")
			s = s[76:]
		}
		b.WriteString(s + "\r\n")
	} else {
		b.Write(msg)
		b.WriteString("\r\n")
	}
	b.WriteString("--wrap-1--\r\n")
	return b.Bytes()
}
