package index_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/pectest"
	"github.com/pecsdk/pec/pec/smime"
)

// TestBadEntries: entries that break the schema are refused with an
// *EntryError naming the entry, the line and the attribute.
func TestBadEntries(t *testing.T) {
	w := testWorld(t)
	good := string(w.ldif(t))
	cert := base64.StdEncoding.EncodeToString(w.gamma.Certificate().Raw)
	// The LDIF folds the base64: replace the whole folded value.
	gammaCert := foldedValue(t, good, "providerCertificate;binary:: "+cert[:40])
	gammaLine := strings.Count(good[:strings.Index(good, "dn: providerName=Gamma")], "\n") + 1
	for _, tc := range []struct {
		name     string
		ldif     string
		sentinel error
		attr     string
		line     int
	}{
		{"certificate-not-der", strings.Replace(good, gammaCert, "providerCertificate;binary:: bm90IGEgY2VydGlmaWNhdGU=\n", 1), index.ErrBadCertificate, "providerCertificate", gammaLine},
		{"certificate-truncated", strings.Replace(good, gammaCert, "providerCertificate;binary:: "+cert[:100]+"\n", 1), index.ErrBadCertificate, "providerCertificate", gammaLine},
		{"no-mail-receipt", strings.Replace(good, "mailReceipt: posta-certificata@pec.gamma.example\n", "", 1), index.ErrBadEntry, "mailReceipt", gammaLine},
		{"bad-mail-receipt", strings.Replace(good, "mailReceipt: posta-certificata@pec.gamma.example", "mailReceipt: <posta@pec.gamma.example>", 1), index.ErrBadEntry, "mailReceipt", gammaLine},
		{"bad-domain", strings.Replace(good, "managedDomains: pec.gamma.example", "managedDomains: pec gamma.example", 1), index.ErrBadEntry, "managedDomains", gammaLine},
		{"two-names", strings.Replace(good, "providerName: Gamma, Certificata S.p.A.\n", "providerName: Gamma, Certificata S.p.A.\nproviderName: Altro\n", 1), index.ErrBadEntry, "providerName", gammaLine},
		{"hash-not-hex", strings.Replace(good, "providerCertificateHash: "+strings.ToUpper(hashOf(w.gamma.Certificate())), "providerCertificateHash: XYZ", 1), index.ErrBadEntry, "providerCertificateHash", gammaLine},
		{"domain-of-two-providers", strings.Replace(good, "managedDomains: pec.gamma.example", "managedDomains: pec.beta.example", 1), index.ErrConflict, "managedDomains", gammaLine},
		// An entry under one provider's DN that names another would take
		// over the other's domains, since trust goes by providerName.
		{"name-not-its-dn", strings.Replace(good, "providerName: Gamma, Certificata S.p.A.\n", "providerName: Impostore S.p.A.\n", 1), index.ErrBadEntry, "providerName", gammaLine},
		{"dn-twice", good + "\n" + good[strings.Index(good, "dn: providerName=Gamma"):], index.ErrConflict, "", 0},
		{"delete-missing", good + "\ndn: providerName=Delta,o=postacert\nchangetype: delete\n", index.ErrConflict, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.ldif == good {
				t.Fatal("the case changes nothing")
			}
			s, err := index.ParseLDIF(strings.NewReader(tc.ldif))
			var ee *index.EntryError
			if s != nil || !errors.Is(err, tc.sentinel) || !errors.As(err, &ee) || ee.Attr != tc.attr || (tc.line != 0 && ee.Line != tc.line) {
				t.Fatalf("err %v (%+v), want %v on %s at line %d", err, ee, tc.sentinel, tc.attr, tc.line)
			}
		})
	}
	t.Run("unit-without-main-entry", func(t *testing.T) {
		p := w.providers[3]
		p.DN, p.Name, p.Unit = "", "Senza Sede S.p.A.", "collaudo"
		p.Domains = []string{"pec.senzasede.example"}
		_, err := index.New([]index.Provider{p})
		var ee *index.EntryError
		if !errors.Is(err, index.ErrConflict) || !errors.As(err, &ee) || ee.Attr != "providerName" {
			t.Fatalf("err %v, want ErrConflict on providerName", err)
		}
	})
	t.Run("new", func(t *testing.T) {
		p := w.providers[3]
		for _, mod := range []func(*index.Provider){
			func(p *index.Provider) { p.Name = " " },
			func(p *index.Provider) { p.Domains = nil },
			func(p *index.Provider) { p.Certificates = nil },
			func(p *index.Provider) { p.Certificates = []*x509.Certificate{nil} },
			func(p *index.Provider) { p.MailReceipt = "posta" },
		} {
			q := p
			mod(&q)
			if _, err := index.New([]index.Provider{q}); !errors.Is(err, index.ErrBadEntry) && !errors.Is(err, index.ErrBadCertificate) {
				t.Errorf("New(%+v): %v", q, err)
			}
		}
	})
}

// foldedValue returns the attribute line starting with prefix and its
// continuation lines.
func foldedValue(t *testing.T, ldif, prefix string) string {
	t.Helper()
	i := strings.Index(ldif, prefix)
	if i < 0 {
		t.Fatalf("%q not in the LDIF", prefix)
	}
	j := i
	for {
		k := strings.IndexByte(ldif[j:], '\n')
		j += k + 1
		if j >= len(ldif) || ldif[j] != ' ' {
			return ldif[i:j]
		}
	}
}

func hashOf(c *x509.Certificate) string {
	p, _ := index.New([]index.Provider{{Name: "x", MailReceipt: "a@b.example", Domains: []string{"b.example"}, Certificates: []*x509.Certificate{c}}})
	return p.Providers()[0].Hashes[0]
}

// TestLDIFChanges: a change record deleting a certificate value, as a
// daily update would, revokes it.
func TestLDIFChanges(t *testing.T) {
	w := testWorld(t)
	delta := "\ndn: providerName=Alfa PEC S.p.A.,o=postacert\nchangetype: modify\n" +
		"delete: providerCertificateHash\nproviderCertificateHash: " + hashOf(w.alfaOld.Certificate()) + "\n-\n" +
		"delete: providerCertificate;binary\nproviderCertificate;binary:: " + base64.StdEncoding.EncodeToString(w.alfaOld.Certificate().Raw) + "\n-\n" +
		"add: managedDomains\nmanagedDomains: nuovo.alfa.example\n-\n" +
		"\ndn: providerName=Gamma\\2C Certificata S.p.A.,o=postacert\nchangetype: delete\n"
	s, err := index.ParseLDIF(bytes.NewReader(append(w.ldif(t), delta...)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Authorize(w.alfaOld.Certificate(), "", time.Now()); !errors.Is(err, index.ErrUnlisted) {
		t.Errorf("deleted certificate: %v", err)
	}
	if err := s.Authorize(w.alfaNew.Certificate(), "x@nuovo.alfa.example", time.Now()); err != nil {
		t.Errorf("kept certificate with the added domain: %v", err)
	}
	if _, ok := s.Domain("pec.gamma.example"); ok || s.Len() != 3 {
		t.Errorf("deleted entry still served (%d entries)", s.Len())
	}
}

// publisher signs the LDIF as the index authority does (PEC.md §13.1).
func publisher(t *testing.T) (*smime.Signer, *x509.CertPool) {
	t.Helper()
	pki, err := pectest.NewPKI("Index Publisher CA")
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := pki.NewProvider("Indice PEC", "indice@agid.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, pki.Pool()
}

// TestSignedLDIF: a signed LDIF is read when its signature is intact and
// trusted, and refused whole otherwise.
func TestSignedLDIF(t *testing.T) {
	w := testWorld(t)
	pub, anchors := publisher(t)
	ldif := w.ldif(t)
	p7m, err := pub.SignAttached(ldif, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pin := &index.Publisher{Certificates: []*x509.Certificate{pub.Certificate()}}
	s, err := index.ParseSignedLDIF(p7m, &index.SignedOptions{Anchors: anchors, Publisher: pin})
	if err != nil {
		t.Fatal(err)
	}
	checkLookups(t, w, s)

	i := bytes.Index(p7m, []byte("managedDomains: pec.gamma.example"))
	if i < 0 {
		t.Fatal("LDIF not found in the signed data")
	}
	tampered := bytes.Clone(p7m)
	copy(tampered[i+len("managedDomains: "):], "pec.gamma.evil!!")
	_, otherAnchors := publisher(t)
	for _, tc := range []struct {
		name string
		p7m  []byte
		opts *index.SignedOptions
		why  string
	}{
		{"tampered", tampered, &index.SignedOptions{Anchors: anchors, Publisher: pin}, string(smime.ProblemDigestMismatch)},
		{"other-anchors", p7m, &index.SignedOptions{Anchors: otherAnchors, Publisher: pin}, string(smime.ProblemUntrustedChain)},
		{"no-anchors", p7m, nil, "no trust anchors"},
		{"not-cms", ldif, &index.SignedOptions{Anchors: anchors, Publisher: pin}, string(smime.ProblemMalformed)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := index.ParseSignedLDIF(tc.p7m, tc.opts)
			if s != nil || !errors.Is(err, index.ErrUntrustedLDIF) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("snapshot %v err %v, want ErrUntrustedLDIF with %q", s, err, tc.why)
			}
		})
	}

	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		file *index.File
		ok   bool
	}{
		{"der", &index.File{Path: write("a.ldif.p7m", p7m), Anchors: anchors, Publisher: pin}, true},
		{"base64", &index.File{Path: write("b.ldif.p7m", []byte(base64.StdEncoding.EncodeToString(p7m)+"\n")), Anchors: anchors, Publisher: pin}, true},
		{"tampered", &index.File{Path: write("c.ldif.p7m", tampered), Anchors: anchors, Publisher: pin}, false},
		{"signed-without-anchors", &index.File{Path: write("d.ldif.p7m", p7m)}, false},
		{"plain", &index.File{Path: write("e.ldif", ldif)}, true},
		{"plain-when-signed-required", &index.File{Path: write("f.ldif", ldif), RequireSigned: true}, false},
		{"plain-with-anchors", &index.File{Path: write("f.ldif", ldif), Anchors: anchors}, false},
		{"plain-with-publisher", &index.File{Path: write("f.ldif", ldif), Publisher: &index.Publisher{Email: "indice@agid.example"}}, false},
	} {
		t.Run("file-"+tc.name, func(t *testing.T) {
			s, err := tc.file.Load(ctx)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				checkLookups(t, w, s)
				return
			}
			if s != nil || !errors.Is(err, index.ErrUntrustedLDIF) {
				t.Fatalf("snapshot %v err %v", s, err)
			}
		})
	}
}

// TestMirrorBadFile: a refresh from a malformed file, or a tampered
// signed one, fails with a clear error and leaves the snapshot served.
func TestMirrorBadFile(t *testing.T) {
	w := testWorld(t)
	pub, anchors := publisher(t)
	path := filepath.Join(t.TempDir(), "index.ldif.p7m")
	p7m, err := pub.SignAttached(w.ldif(t), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, p7m, 0o644); err != nil {
		t.Fatal(err)
	}
	m := index.NewMirror(&index.File{Path: path, Anchors: anchors, Publisher: &index.Publisher{Email: "indice@agid.example"}}, nil)
	ctx := context.Background()
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	good := m.Snapshot()
	for _, tc := range []struct {
		name     string
		content  []byte
		sentinel error
	}{
		{"tampered", bytes.Replace(p7m, []byte("pec.beta.example"), []byte("pec.beta.exampl3"), 1), index.ErrUntrustedLDIF},
		// With anchors, an unsigned file is refused before a line is read.
		{"unsigned-malformed", []byte("dn: o=x\nbroken\n"), index.ErrUntrustedLDIF},
		{"missing", nil, os.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.content == nil {
				os.Remove(path)
			} else if err := os.WriteFile(path, tc.content, 0o644); err != nil {
				t.Fatal(err)
			}
			err := m.Refresh(ctx)
			if !errors.Is(err, tc.sentinel) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err %v, want %v naming the file", err, tc.sentinel)
			}
			if m.Snapshot() != good || m.LastError() != err {
				t.Fatal("snapshot replaced or error not kept")
			}
			checkLookups(t, w, m)
		})
	}
}
