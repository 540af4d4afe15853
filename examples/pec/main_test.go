package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pecsdk/pec/internal/testenv"
	"github.com/pecsdk/pec/pec"
)

// TestSamples: every sample verifies with openssl against ca.pem, its signer
// is its From address, and its daticert.xml is valid against the DTD.
func TestSamples(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	xmllint := testenv.Tool(t, "xmllint")
	dtd := testenv.Shared(t, "spec", "daticert.dtd")
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if st := run([]string{"sample", "-o", dir}, &out, &errb); st != 0 {
		t.Fatalf("sample: %d %s", st, errb.String())
	}
	emls, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(emls) != len(pec.Kinds) {
		t.Fatalf("%d samples, want %d", len(emls), len(pec.Kinds))
	}
	ca := filepath.Join(dir, "ca.pem")
	for _, f := range emls {
		t.Run(filepath.Base(f), func(t *testing.T) {
			signer := filepath.Join(t.TempDir(), "signer.pem")
			cmd := exec.Command(openssl, "smime", "-verify", "-CAfile", ca, "-in", f, "-out", os.DevNull, "-signer", signer)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("openssl smime -verify: %v\n%s", err, b)
			}
			san, err := exec.Command(openssl, "x509", "-in", signer, "-noout", "-ext", "subjectAltName").CombinedOutput()
			if err != nil {
				t.Fatal(err)
			}
			m, err := load(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			from, _ := m.Header.AddressList("From")
			if len(from) != 1 || !strings.Contains(string(san), "email:"+from[0].Address) {
				t.Errorf("signer SAN %q, From %v", san, from)
			}
			if m.Kind == pec.KindAnomaly {
				return
			}
			x := t.TempDir()
			var o, e bytes.Buffer
			if st := run([]string{"extract", "-o", x, f}, &o, &e); st != 0 {
				t.Fatalf("extract: %s", e.String())
			}
			if b, err := exec.Command(xmllint, "--noout", "--dtdvalid", dtd, filepath.Join(x, pec.CertDataName)).CombinedOutput(); err != nil {
				t.Errorf("xmllint: %v\n%s", err, b)
			}
		})
	}
	var vo, ve bytes.Buffer
	if st := run(append([]string{"verify", "--ca", ca, "--ldif", filepath.Join(filepath.Dir(ca), "index.ldif")}, emls...), &vo, &ve); st != 0 {
		t.Errorf("verify: %d\n%s", st, vo.String())
	}
	// One changed byte in the signed text: verify fails and says why.
	b, _ := os.ReadFile(emls[0])
	bad := filepath.Join(dir, "tampered.eml")
	i := bytes.LastIndex(b, []byte("Buongiorno")) // in the signed original, not the outer header
	b[i] = 'b'
	os.WriteFile(bad, b, 0o644)
	vo.Reset()
	if st := run([]string{"verify", "--ca", ca, bad}, &vo, &ve); st != 1 || !strings.Contains(vo.String(), "digest") {
		t.Errorf("tampered: status %d, %s", st, vo.String())
	}
}

func TestDemo(t *testing.T) {
	var out, errb bytes.Buffer
	if st := run(nil, &out, &errb); st != 0 || strings.Count(out.String(), ": OK ") != 28 {
		t.Fatalf("demo: %d\n%s\n%s", st, out.String(), errb.String())
	}
}
