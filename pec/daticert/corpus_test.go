package daticert

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pecsdk/pec/pec"
)

// corpusDir holds real PEC messages, beside the module; they are read in
// place, never copied into the project.
const corpusDir = "../../../shared/corpus"

// corpusDaticerts returns the daticert.xml of every message of the corpus
// that has one, by file name, decoded from its MIME part at run time. It
// skips the test when the corpus is absent (fails under CI=true).
func corpusDaticerts(tb testing.TB) map[string][]byte {
	tb.Helper()
	docs, err := readCorpus()
	if errors.Is(err, errNoCorpus) {
		unavailable(tb, "%v", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return docs
}

var errNoCorpus = fmt.Errorf("corpus %s not available", corpusDir)

// readCorpus reads the daticert.xml parts of the corpus messages.
func readCorpus() (map[string][]byte, error) {
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.eml"))
	if err != nil || len(files) == 0 {
		return nil, errNoCorpus
	}
	out := make(map[string][]byte)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		b, err := findDaticert(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if b != nil {
			out[filepath.Base(f)] = b
		}
	}
	return out, nil
}

// findDaticert returns the decoded daticert.xml part of a message, or nil.
func findDaticert(raw []byte) ([]byte, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	return walkPart(textproto.MIMEHeader(msg.Header), msg.Body, 0)
}

func walkPart(h textproto.MIMEHeader, body io.Reader, depth int) ([]byte, error) {
	if depth > 10 {
		return nil, errors.New("MIME nesting too deep")
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			if b, err := walkPart(p.Header, p, depth+1); b != nil || err != nil {
				return b, err
			}
		}
	}
	name := params["name"]
	if _, dp, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil && dp["filename"] != "" {
		name = dp["filename"]
	}
	if !strings.EqualFold(name, pec.CertDataName) {
		return nil, nil
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	}
	return io.ReadAll(body)
}

// corpusWant is what a corpus daticert.xml holds (checked by hand against
// the decoded parts).
type corpusWant struct {
	typ         pec.CertType
	errore      pec.ErrorCode
	provider    string
	when        string // giorno ora zona
	receiptType pec.ReceiptType
	delivery    string
	extended    string
	valid       bool // passes Validate (the anonymised ones have addresses without @)
}

var corpusWants = map[string]corpusWant{
	"accettazione_aruba_1.eml":        {pec.CertAcceptance, pec.ErrorNone, "ARUBA PEC S.p.A.", "13/11/2018 16:39:26 +0100", "", "", "", true},
	"accettazione_aruba_2.eml":        {pec.CertAcceptance, pec.ErrorNone, "ARUBA PEC S.p.A.", "14/11/2014 18:26:32 +0100", "", "", "", true},
	"accettazione_unknown_1.eml":      {pec.CertAcceptance, pec.ErrorNone, "FAKEPEC PEC S.p.A.", "15/11/2024 18:20:38 +0100", "", "", "", true},
	"avvenuta-consegna_aruba_1.eml":   {pec.CertDelivery, pec.ErrorNone, "ARUBA PEC S.p.A.", "13/11/2018 16:39:27 +0100", pec.ReceiptFull, "l.battistini@pec.it", "", true},
	"avvenuta-consegna_aruba_2.eml":   {pec.CertDelivery, pec.ErrorNone, "ARUBA PEC S.p.A.", "14/11/2014 18:26:32 +0100", pec.ReceiptFull, "thinkstudio@pec.it", "", true},
	"avvenuta-consegna_unknown_1.eml": {pec.CertDelivery, pec.ErrorNone, "example", "13/05/2021 14:35:30 +0200", pec.ReceiptFull, "example.example.com", "", false},
	"envelope_aruba_1.eml":            {pec.CertTransport, pec.ErrorNone, "ARUBA PEC S.p.A.", "07/11/2014 16:52:00 +0100", pec.ReceiptFull, "", "", true},
	"envelope_aruba_2.eml":            {pec.CertTransport, pec.ErrorNone, "ARUBA PEC S.p.A.", "27/11/2014 15:12:16 +0100", pec.ReceiptFull, "", "", true},
	"envelope_aruba_3.eml":            {pec.CertTransport, pec.ErrorNone, "ARUBA PEC S.p.A.", "18/08/2023 17:37:14 +0200", pec.ReceiptFull, "", "", true},
	"envelope_aruba_4.eml":            {pec.CertTransport, pec.ErrorNone, "ARUBA PEC S.p.A.", "19/12/2018 13:10:59 +0100", pec.ReceiptFull, "", "", true},
	"envelope_aruba_6.eml":            {pec.CertTransport, pec.ErrorNone, "ARUBA PEC S.p.A.", "06/08/2014 12:01:04 +0200", pec.ReceiptFull, "", "", true},
	"envelope_sogei_1.eml":            {pec.CertTransport, pec.ErrorNone, "Sogei SpA", "08/12/2018 12:26:18 +0100", pec.ReceiptShort, "", "", true},
	"envelope_sogei_4.eml":            {pec.CertTransport, pec.ErrorNone, "Sogei SpA", "08/12/2018 12:26:18 +0100", pec.ReceiptShort, "", "", true},
	"envelope_unknown_1.eml":          {pec.CertTransport, pec.ErrorNone, "no-reply@example.com", "14/05/2021 12:02:08 +0200", pec.ReceiptFull, "", "", true},
	"errore-consegna_unknown_1.eml": {pec.CertDeliveryError, pec.ErrorNoDest, "FAKE PEC S.p.A.", "15/11/2024 18:21:03 +0100", "",
		"rec@fakepec.it", "5.1.1 - FAKE Pec S.p.A. - indirizzo non valido", true},
}

// TestCorpus parses the daticert.xml of every real message of the corpus,
// checks it against what it was read to hold, and checks that the valid
// ones survive Marshal and Parse.
func TestCorpus(t *testing.T) {
	docs := corpusDaticerts(t)
	names := make([]string, 0, len(docs))
	for name := range docs {
		names = append(names, name)
	}
	sort.Strings(names)
	for name := range corpusWants {
		if _, ok := docs[name]; !ok {
			t.Errorf("%s: no daticert.xml found", name)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			d, err := Unmarshal(docs[name])
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			want, ok := corpusWants[name]
			if !ok {
				t.Fatalf("new corpus file: add it to corpusWants (parsed %+v)", d)
			}
			day, clock, zone := d.Time.Format(pec.DayLayout), d.Time.Format(pec.TimeLayout), d.Time.Format(pec.ZoneLayout)
			got := corpusWant{d.Type, d.Error, d.Provider, fmt.Sprintf("%s %s %s", day, clock, zone),
				d.ReceiptType, d.Delivery, d.ExtendedError, d.Validate() == nil}
			if got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			if len(d.Recipients) == 0 || d.ID == "" || d.Sender == "" || d.Subject == "" || !strings.HasPrefix(d.MsgID, "<") {
				t.Errorf("incomplete: %+v", d)
			}
			if !want.valid {
				return
			}
			b, err := d.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			back, err := Unmarshal(b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := diffData(back, d, true); diff != "" {
				t.Errorf("round trip:\n%s", diff)
			}
		})
	}
}
