package client

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pecsdk/pec/internal/testenv"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/sample"
)

// TestClassifySample classifies the signed sample of every kind, from memory
// and from a file, and checks the parse it carries and the verdict.
func TestClassifySample(t *testing.T) {
	set := samples(t)
	dir := t.TempDir()
	for _, k := range pec.Kinds {
		t.Run(k.String(), func(t *testing.T) {
			b := set.Messages[k]
			path := filepath.Join(dir, k.String()+".eml")
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fromFile, err := Classify(f, verifyOpts(t))
			if err != nil {
				t.Fatal(err)
			}
			for name, m := range map[string]*Message{"memory": classifyBytes(t, b), "file": fromFile} {
				if m.Kind != k {
					t.Fatalf("%s: Kind = %s, want %s (problems %v)", name, m.Kind, k, m.Problems)
				}
				if len(m.Problems) > 0 {
					t.Errorf("%s: Problems = %v", name, m.Problems)
				}
				if m.Signature == nil || !m.Signature.OK() || m.Signature.Trusted == nil || !*m.Signature.Trusted {
					t.Errorf("%s: Signature = %+v, want intact and trusted", name, m.Signature)
				}
				if m.MessageID == "" || strings.ContainsAny(m.MessageID, "<>") {
					t.Errorf("%s: MessageID = %q", name, m.MessageID)
				}
				if len(m.Digest) != 64 {
					t.Errorf("%s: Digest = %q", name, m.Digest)
				}
				switch {
				case k.IsEnvelope() && (m.Envelope == nil || m.Receipt != nil):
					t.Errorf("%s: envelope kind with Envelope %v, Receipt %v", name, m.Envelope != nil, m.Receipt != nil)
				case k.IsReceipt() && (m.Receipt == nil || m.Envelope != nil):
					t.Errorf("%s: receipt kind with Envelope %v, Receipt %v", name, m.Envelope != nil, m.Receipt != nil)
				case k.IsReceipt() && !bytes.Equal(m.raw, b):
					t.Errorf("%s: kept bytes differ from the input", name)
				}
			}
		})
	}
}

// TestClassifyNotPEC covers ordinary mail and what only looks like PEC:
// none of it is an error.
func TestClassifyNotPEC(t *testing.T) {
	set := samples(t)
	forwarded := "From: carla@posta.example\r\nTo: dario@posta.example\r\nSubject: Fwd: ricevuta\r\n" +
		"Message-ID: <fwd-1@posta.example>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"f\"\r\n\r\n" +
		"--f\r\nContent-Type: text/plain\r\n\r\nTi giro la ricevuta.\r\n" +
		"--f\r\nContent-Type: message/rfc822; name=\"ricevuta.eml\"\r\n" +
		"Content-Disposition: attachment; filename=\"ricevuta.eml\"\r\n\r\n" +
		string(set.Messages[pec.KindDelivery]) + "\r\n--f--\r\n"
	acc := string(set.Messages[pec.KindAcceptance])
	unknownHeader := strings.Replace(acc, "X-Ricevuta: accettazione", "X-Ricevuta: accettazione-parziale", 1)
	unknownBoth := "X-Ricevuta: accettazione-parziale\r\nMessage-ID: <r@y>\r\nSubject: ?\r\n\r\nTesto.\r\n"
	tests := []struct {
		name     string
		in       string
		kind     pec.Kind
		id       string
		problems bool
	}{
		{"ordinary", sample.Ordinary, pec.KindUnknown, "ordinaria-1@posta.example", false},
		{"forwarded receipt", forwarded, pec.KindUnknown, "fwd-1@posta.example", false},
		// The certification data is authoritative (PEC.md §15.3).
		{"unknown X-Ricevuta, known tipo", unknownHeader, pec.KindAcceptance, "", true},
		{"unknown X-Ricevuta, no data", unknownBoth, pec.KindUnknown, "r@y", true},
		// X-Trasporto makes an envelope, however damaged (PEC.md §15.3 step 2).
		{"PEC header, no body", "X-Trasporto: posta-certificata\r\nMessage-ID: <x@y>\r\n\r\n", pec.KindTransport, "x@y", true},
		{"empty", "", pec.KindUnknown, "", false},
		{"no header end", "Subject: troncato", pec.KindUnknown, "", false},
		{"binary", "\x00\x01\x02\xff\r\n\r\n", pec.KindUnknown, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Classify(strings.NewReader(tc.in), verifyOpts(t))
			if err != nil {
				t.Fatalf("err = %v, want nil", err)
			}
			if m.Kind != tc.kind || (m.Kind == pec.KindUnknown) != (m.Envelope == nil && m.Receipt == nil) {
				t.Fatalf("Kind = %s (envelope %v, receipt %v), want %s", m.Kind, m.Envelope != nil, m.Receipt != nil, tc.kind)
			}
			if tc.id != "" && m.MessageID != tc.id {
				t.Errorf("MessageID = %q, want %q", m.MessageID, tc.id)
			}
			if (len(m.Problems) > 0) != tc.problems {
				t.Errorf("Problems = %v, want some: %v", m.Problems, tc.problems)
			}
			if m.raw != nil && m.Receipt == nil {
				t.Error("bytes of a non-receipt kept as evidence")
			}
		})
	}
}

// TestClassifyUnreadable: the only error is for input that cannot be read.
func TestClassifyUnreadable(t *testing.T) {
	boom := errors.New("disk on fire")
	_, err := Classify(errReader{boom}, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the read error", err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// TestClassifyTampered: a receipt whose bytes were changed is still a
// receipt, with a verdict that says so.
func TestClassifyTampered(t *testing.T) {
	b := bytes.Replace(samples(t).Messages[pec.KindDeliverySummary], []byte("bob@"), []byte("bOb@"), 1)
	m := classifyBytes(t, b)
	if m.Kind != pec.KindDeliverySummary {
		t.Fatalf("Kind = %s", m.Kind)
	}
	if m.Signature == nil || m.Signature.Intact {
		t.Fatalf("Signature = %+v, want not intact", m.Signature)
	}
}

// TestClassifyCorpus classifies every real message of the corpus as its
// manifest says.
func TestClassifyCorpus(t *testing.T) {
	files := testenv.CorpusFiles(t)
	want := map[string]pec.Kind{}
	f, err := os.Open(filepath.Join(testenv.Corpus(t), "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kinds := map[string]pec.Kind{
		"envelope": pec.KindTransport, "accettazione": pec.KindAcceptance,
		"avvenuta-consegna": pec.KindDelivery, "errore-consegna": pec.KindDeliveryError,
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) > 1 {
			if k, ok := kinds[cols[1]]; ok {
				want[cols[0]] = k
			}
		}
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			k, ok := want[name]
			if !ok {
				t.Skipf("no kind in the manifest")
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			m, err := Classify(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := m.Kind
			if got == pec.KindDeliveryShort || got == pec.KindDeliverySummary {
				got = pec.KindDelivery // the manifest does not tell the variants apart
			}
			if got != k {
				t.Errorf("Kind = %s, want %s (problems %v)", m.Kind, k, m.Problems)
			}
		})
	}
}
