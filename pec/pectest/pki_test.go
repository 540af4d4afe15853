package pectest_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/pectest"
	"github.com/pecsdk/pec/pec/smime"
)

var (
	oidKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidSAN              = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidSKI              = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidAKI              = asn1.ObjectIdentifier{2, 5, 29, 35}
)

func TestPKI(t *testing.T) {
	p, err := pectest.NewPKI("Test CA")
	if err != nil {
		t.Fatal(err)
	}
	ca := p.CA
	if !ca.IsCA || !ca.BasicConstraintsValid || ca.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign ||
		len(ca.SubjectKeyId) == 0 || ca.SignatureAlgorithm != x509.SHA256WithRSA || !bytes.Equal(ca.RawIssuer, ca.RawSubject) {
		t.Fatalf("CA profile: %+v", ca)
	}
	if time.Until(ca.NotBefore) > 0 || ca.NotAfter.Before(time.Now().AddDate(9, 11, 0)) {
		t.Fatalf("CA validity %v – %v", ca.NotBefore, ca.NotAfter)
	}
	if blk, _ := pem.Decode(p.CAPEM()); blk == nil || !bytes.Equal(blk.Bytes, ca.Raw) {
		t.Fatal("CAPEM")
	}
	if _, err := ca.Verify(x509.VerifyOptions{Roots: p.Pool()}); err != nil {
		t.Fatal(err)
	}
}

// TestProviderProfile checks the certificate profile of PEC.md §12.3.
func TestProviderProfile(t *testing.T) {
	p, err := pectest.NewPKI("Test CA")
	if err != nil {
		t.Fatal(err)
	}
	s, key, err := p.NewProvider("Acme PEC S.p.A.", "posta-certificata@pec.acme.it", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Certificate()
	if c.Subject.String() != "CN=Posta Certificata Acme PEC S.p.A.,O=Acme PEC S.p.A.,C=IT" {
		t.Errorf("subject %s", c.Subject)
	}
	if len(c.EmailAddresses) != 1 || c.EmailAddresses[0] != "posta-certificata@pec.acme.it" || s.Address() != "posta-certificata@pec.acme.it" {
		t.Errorf("SAN %v", c.EmailAddresses)
	}
	if c.KeyUsage != x509.KeyUsageDigitalSignature || len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageEmailProtection {
		t.Errorf("usage %v %v", c.KeyUsage, c.ExtKeyUsage)
	}
	if !bytes.Equal(c.AuthorityKeyId, p.CA.SubjectKeyId) || len(c.SubjectKeyId) != 20 || c.BasicConstraintsValid {
		t.Errorf("AKI %x SKI %x BC %v", c.AuthorityKeyId, c.SubjectKeyId, c.BasicConstraintsValid)
	}
	seen := map[string]bool{}
	for _, e := range c.Extensions {
		seen[e.Id.String()] = true
		switch {
		case e.Id.Equal(oidKeyUsage):
			if !e.Critical {
				t.Error("Key Usage not critical")
			}
		case e.Id.Equal(oidBasicConstraints):
			t.Error("Basic Constraints present")
		default:
			if e.Critical {
				t.Errorf("extension %v critical", e.Id)
			}
		}
	}
	for _, oid := range []asn1.ObjectIdentifier{oidKeyUsage, oidSAN, oidSKI, oidAKI} {
		if !seen[oid.String()] {
			t.Errorf("extension %v missing", oid)
		}
	}
	if rk, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !rk.Equal(c.PublicKey) {
		t.Error("returned key is not the certificate's")
	}
	if ch := s.Chain(); len(ch) != 2 || ch[1] != p.CA {
		t.Errorf("chain of %d", len(ch))
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: p.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}}); err != nil {
		t.Error(err)
	}
}

func TestProviderOptions(t *testing.T) {
	p, err := pectest.NewPKI("Test CA")
	if err != nil {
		t.Fatal(err)
	}
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	nb := time.Now().Add(-30 * time.Minute).Truncate(time.Second)
	s, key, err := p.NewProvider("EC PEC", "pc@ec.example.it", &pectest.ProviderOptions{
		Key: ek, NotBefore: nb, NotAfter: nb.Add(time.Hour), NoEmailProtection: true,
		Signer: &smime.SignerOptions{LegacyProtocol: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Certificate()
	if key != ek || !c.NotBefore.Equal(nb) || !c.NotAfter.Equal(nb.Add(time.Hour)) {
		t.Errorf("key %v validity %v – %v", key == ek, c.NotBefore, c.NotAfter)
	}
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageEmailProtection {
			t.Error("emailProtection present")
		}
	}
	s, _, err = p.NewProvider("Small", "pc@small.example.it", &pectest.ProviderOptions{KeyBits: 1024})
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Certificate().PublicKey.(interface{ Size() int }).Size(); n != 128 {
		t.Errorf("key of %d bytes", n)
	}
}

func TestIntermediate(t *testing.T) {
	root, err := pectest.NewPKI("Root")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := root.NewIntermediate("AgID-like CA1")
	if err != nil {
		t.Fatal(err)
	}
	if sub.Root() != root.CA || !bytes.Equal(sub.CA.RawIssuer, root.CA.RawSubject) || !bytes.Equal(sub.CAPEM(), root.CAPEM()) {
		t.Fatal("intermediate not under root")
	}
	s, _, err := sub.NewProvider("Sub PEC", "pc@sub.example.it", nil)
	if err != nil {
		t.Fatal(err)
	}
	ch := s.Chain()
	if len(ch) != 2 || ch[1] != sub.CA {
		t.Fatalf("chain of %d", len(ch))
	}
	inter := x509.NewCertPool()
	inter.AddCert(sub.CA)
	if _, err := ch[0].Verify(x509.VerifyOptions{Roots: sub.Pool(), Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}}); err != nil {
		t.Fatal(err)
	}
}
