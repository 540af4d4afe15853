package main

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/sample"
)

// TestSampleCommand: "pec sample" writes the CA, the two provider
// certificates and a sample of every kind; each sample passes openssl's own
// verification, is signed by the certificate of its From address, carries
// DTD-valid certification data, and reads back as its kind in inspect --json.
func TestSampleCommand(t *testing.T) {
	openssl := needTool(t, "openssl")
	xmllint := needTool(t, "xmllint")
	dtd := needShared(t, sharedDTD)
	dir, files := writeSampleDir(t)
	ca := filepath.Join(dir, "ca.pem")

	t.Run("files", func(t *testing.T) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		want := []string{"ca.pem", "index.ldif", "provider-destinatario.pem", "provider-mittente.pem"}
		for i, k := range pec.Kinds {
			want = append(want, fmt.Sprintf("%02d-%s.eml", i+1, k))
		}
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Fatalf("files:\n got %q\nwant %q", got, want)
		}
		if len(files) != 14 || len(pec.Kinds) != 14 {
			t.Fatalf("%d samples for %d kinds, want 14", len(files), len(pec.Kinds))
		}
		for i, f := range files {
			if f.kind != pec.Kinds[i] {
				t.Errorf("%s: kind %s, want %s at position %d", filepath.Base(f.path), f.kind, pec.Kinds[i], i+1)
			}
		}
		// The provider certificates are issued by the CA for the service address.
		roots := x509.NewCertPool()
		caPEM, _ := os.ReadFile(ca)
		if !roots.AppendCertsFromPEM(caPEM) {
			t.Fatalf("ca.pem holds no certificate")
		}
		for name, domain := range map[string]string{
			"provider-mittente.pem":     sample.SenderDomain,
			"provider-destinatario.pem": sample.RecipientDomain,
		} {
			b, _ := os.ReadFile(filepath.Join(dir, name))
			certs := pemCerts(t, b)
			if len(certs) != 1 {
				t.Fatalf("%s: %d certificates, want 1", name, len(certs))
			}
			if _, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				t.Errorf("%s does not chain to ca.pem: %v", name, err)
			}
			if want := pec.ServiceLocalPart + "@" + domain; !slices.Contains(certs[0].EmailAddresses, want) {
				t.Errorf("%s: e-mail %q, want %q", name, certs[0].EmailAddresses, want)
			}
		}
	})

	ids := map[string][]string{} // daticert identificativo → samples
	for _, f := range files {
		name := filepath.Base(f.path)
		t.Run(name, func(t *testing.T) {
			from := fromAddress(t, f.path)

			t.Run("openssl-verify", func(t *testing.T) {
				signer := filepath.Join(t.TempDir(), "signer.pem")
				cmd := exec.Command(openssl, "smime", "-verify", "-CAfile", ca, "-in", f.path, "-out", os.DevNull, "-signer", signer)
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("openssl smime -verify -CAfile ca.pem: %v\n%s", err, b)
				}
				san, err := exec.Command(openssl, "x509", "-in", signer, "-noout", "-ext", "subjectAltName").CombinedOutput()
				if err != nil {
					t.Fatalf("openssl x509 -ext subjectAltName: %v\n%s", err, san)
				}
				if !strings.Contains(strings.ToLower(string(san)), "email:"+strings.ToLower(from)) {
					t.Errorf("signer subjectAltName %q does not name From %q", strings.TrimSpace(string(san)), from)
				}
			})

			t.Run("signer-is-from", func(t *testing.T) {
				// As the library reads it.
				k, _, v := parsePEC(t, f.path, nil)
				if k != f.kind {
					t.Errorf("library kind %s, file name says %s", k, f.kind)
				}
				if v == nil {
					t.Fatalf("library: no signature")
				}
				if !strings.EqualFold(v.SignerEmail, from) {
					t.Errorf("library signer %q, From %q", v.SignerEmail, from)
				}
				// As openssl extracts it from the PKCS #7 structure.
				var leaves []*x509.Certificate
				for _, c := range opensslCerts(t, openssl, f.path) {
					if !c.IsCA {
						leaves = append(leaves, c)
					}
				}
				if len(leaves) != 1 {
					t.Fatalf("%d end-entity certificates in the signature, want 1", len(leaves))
				}
				if e := leaves[0].EmailAddresses; len(e) == 0 || !strings.EqualFold(e[0], from) {
					t.Errorf("openssl-extracted signer SAN e-mail %q, From %q", e, from)
				}
				if v.Signer != nil && !v.Signer.Equal(leaves[0]) {
					t.Errorf("library and openssl disagree on the signer certificate")
				}
			})

			t.Run("daticert-dtd", func(t *testing.T) {
				if f.kind.CertType() == "" {
					return // the anomaly envelope carries no certification data
				}
				x := t.TempDir()
				if st, _, stderr := runTool("extract", "-o", x, f.path); st != 0 {
					t.Fatalf("pec extract: status %d\n%s", st, stderr)
				}
				xml := filepath.Join(x, "daticert.xml")
				if b, err := exec.Command(xmllint, "--noout", "--dtdvalid", dtd, xml).CombinedOutput(); err != nil {
					t.Errorf("xmllint --dtdvalid daticert.dtd: %v\n%s", err, b)
				}
			})

			t.Run("inspect-json", func(t *testing.T) {
				yes := true
				for _, tc := range []struct {
					name    string
					args    []string
					trusted *bool
				}{
					{"no-ca", []string{f.path}, nil},
					{"ca", []string{"--ca", ca, "--ldif", filepath.Join(filepath.Dir(ca), "index.ldif"), f.path}, &yes},
				} {
					t.Run(tc.name, func(t *testing.T) {
						obj := inspectJSON(t, tc.args...)
						for _, key := range []string{"kind", "headers", "daticert", "signature"} {
							if _, ok := obj[key]; !ok {
								t.Fatalf("no %q in %v", key, obj)
							}
						}
						if kind := jsonString(t, "kind", obj["kind"]); kind != f.kind.String() {
							t.Errorf("kind %q, file name says %q", kind, f.kind)
						}
						var h map[string]string
						if err := json.Unmarshal(obj["headers"], &h); err != nil {
							t.Fatalf("headers: %v: %s", err, obj["headers"])
						}
						for _, key := range []string{"Message-ID", "Subject", "From"} {
							if h[key] == "" {
								t.Errorf("headers has no %q: %v", key, h)
							}
						}
						if a, err := mail.ParseAddress(h["From"]); err != nil || !strings.EqualFold(a.Address, from) {
							t.Errorf("headers.From %q (%v), file From %q", h["From"], err, from)
						}
						if f.kind.IsEnvelope() {
							if got := h["X-Trasporto"]; got != string(f.kind.Transport()) {
								t.Errorf("headers.X-Trasporto = %q, want %q", got, f.kind.Transport())
							}
						} else if got := h["X-Ricevuta"]; got != string(f.kind.Notice()) {
							t.Errorf("headers.X-Ricevuta = %q, want %q", got, f.kind.Notice())
						}
						if f.kind.CertType() == "" {
							if string(obj["daticert"]) != "null" {
								t.Errorf("daticert of %s = %s, want null", f.kind, obj["daticert"])
							}
						} else {
							id := checkDaticertJSON(t, obj["daticert"], f.kind)
							if tc.trusted == nil {
								ids[id] = append(ids[id], name)
							}
						}
						checkSignatureJSON(t, obj["signature"], from, tc.trusted)
					})
				}
			})
		})
	}

	// Every receipt and notice refers to the one transport envelope by its
	// identificativo.
	if len(ids) > 1 {
		t.Errorf("daticert identificativo differs between samples: %v", ids)
	}
}
