package index_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/pectest"
	"github.com/pecsdk/pec/pec/smime"
)

// world is a test network of providers: the index entries and the signers
// of their certificates, listed or not.
type world struct {
	pki       *pectest.PKI
	providers []index.Provider

	alfaOld, alfaNew *smime.Signer // Alfa's renewal overlap
	alfaUnit         *smime.Signer // Alfa's secondary environment
	beta             *smime.Signer
	betaExpired      *smime.Signer // listed for Beta, expired a year ago
	betaRogue        *smime.Signer // listed for Beta, with an address in Alfa's domain
	gamma            *smime.Signer // a name that needs DN escaping
	unlisted         *smime.Signer // same CA, in no entry
}

const (
	alfa  = "Alfa PEC S.p.A."
	beta  = "Beta Posta S.r.l."
	gamma = "Gamma, Certificata S.p.A."
)

var (
	worldOnce sync.Once
	theWorld  *world
	worldErr  error
)

func testWorld(t testing.TB) *world {
	t.Helper()
	worldOnce.Do(func() { theWorld, worldErr = newWorld() })
	if worldErr != nil {
		t.Fatal(worldErr)
	}
	return theWorld
}

func newWorld() (*world, error) {
	pki, err := pectest.NewPKI("Index Test CA")
	if err != nil {
		return nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	w := &world{pki: pki}
	now := time.Now()
	mk := func(name, email string, nb, na time.Time) *smime.Signer {
		if err != nil {
			return nil
		}
		var s *smime.Signer
		s, _, err = pki.NewProvider(name, email, &pectest.ProviderOptions{Key: key, NotBefore: nb, NotAfter: na})
		return s
	}
	w.alfaOld = mk(alfa, "posta-certificata@pec.alfa.example", now.AddDate(-2, 0, 0), now.AddDate(0, 1, 0))
	w.alfaNew = mk(alfa, "posta-certificata@pec.alfa.example", now.Add(-time.Hour), now.AddDate(2, 0, 0))
	w.alfaUnit = mk(alfa, "posta-certificata@pec2.alfa.example", now.Add(-time.Hour), now.AddDate(2, 0, 0))
	w.beta = mk(beta, "servizio@pec.beta.example", now.Add(-time.Hour), now.AddDate(2, 0, 0))
	w.betaExpired = mk(beta, "servizio@pec.beta.example", now.AddDate(-3, 0, 0), now.AddDate(-1, 0, 0))
	w.betaRogue = mk(beta, "posta-certificata@pec.alfa.example", now.Add(-time.Hour), now.AddDate(2, 0, 0))
	w.gamma = mk(gamma, "posta-certificata@pec.gamma.example", now.Add(-time.Hour), now.AddDate(2, 0, 0))
	w.unlisted = mk(beta, "servizio@pec.beta.example", now.Add(-time.Hour), now.AddDate(2, 0, 0))
	if err != nil {
		return nil, err
	}
	certs := func(ss ...*smime.Signer) []*x509.Certificate {
		var out []*x509.Certificate
		for _, s := range ss {
			out = append(out, s.Certificate())
		}
		return out
	}
	w.providers = []index.Provider{
		{
			Name: alfa, MailReceipt: "posta-certificata@pec.alfa.example",
			Domains:         []string{"pec.alfa.example", "Legal.Alfa.Example"},
			Certificates:    certs(w.alfaOld, w.alfaNew),
			LDIFLocationURL: "https://pec.alfa.example/provider.ldif.p7m",
			Description:     "Servizi di posta certificata",
		},
		{
			Name: alfa, Unit: "Ambiente Secondario", MailReceipt: "posta-certificata@pec2.alfa.example",
			Domains:      []string{"pec2.alfa.example"},
			Certificates: certs(w.alfaUnit),
		},
		{
			Name: beta, MailReceipt: "servizio@pec.beta.example",
			Domains:      []string{"pec.beta.example", "posta.beta.example"},
			Certificates: certs(w.beta, w.betaExpired, w.betaRogue),
		},
		{
			Name: gamma, MailReceipt: "posta-certificata@pec.gamma.example",
			Domains:      []string{"pec.gamma.example"},
			Certificates: certs(w.gamma),
		},
	}
	return w, nil
}

// ldif returns the world's index as LDIF.
func (w *world) ldif(t testing.TB) []byte {
	t.Helper()
	s, err := index.New(w.providers)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := s.WriteLDIF(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// checkLookups asserts the lookups of PEC.md §13.5 on the world's data:
// every source must give these answers.
func checkLookups(t *testing.T, w *world, idx index.Index) {
	t.Helper()
	for _, tc := range []struct {
		domain, provider, unit string
	}{
		{"pec.alfa.example", alfa, ""},
		{"PEC.Alfa.EXAMPLE", alfa, ""},
		{"legal.alfa.example", alfa, ""},
		{"pec.alfa.example.", alfa, ""},
		{"pec2.alfa.example", alfa, "Ambiente Secondario"},
		{"posta.beta.example", beta, ""},
		{"pec.gamma.example", gamma, ""},
		{"ordinaria.example", "", ""},
		{"alfa.example", "", ""},
		{"", "", ""},
	} {
		p, ok := idx.Domain(tc.domain)
		if ok != (tc.provider != "") || ok && (p.Name != tc.provider || p.Unit != tc.unit) {
			t.Errorf("Domain(%q) = %+v, %v; want %q/%q", tc.domain, p, ok, tc.provider, tc.unit)
		}
	}
	for _, tc := range []struct {
		signer   *smime.Signer
		provider string
		receipt  string
	}{
		{w.alfaOld, alfa, "posta-certificata@pec.alfa.example"},
		{w.alfaNew, alfa, "posta-certificata@pec.alfa.example"},
		{w.alfaUnit, alfa, "posta-certificata@pec2.alfa.example"},
		{w.beta, beta, "servizio@pec.beta.example"},
		{w.betaExpired, beta, "servizio@pec.beta.example"},
		{w.gamma, gamma, "posta-certificata@pec.gamma.example"},
		{w.unlisted, "", ""},
	} {
		p, ok := idx.Signer(tc.signer.Certificate())
		if ok != (tc.provider != "") || ok && (p.Name != tc.provider || p.MailReceipt != tc.receipt) {
			t.Errorf("Signer(%s) = %+v, %v; want %q", tc.signer.Certificate().SerialNumber, p, ok, tc.provider)
		}
	}
	if _, ok := idx.Signer(nil); ok {
		t.Error("Signer(nil) found an entry")
	}
	for _, name := range []string{alfa, strings.ToUpper(beta), gamma} {
		p, ok := idx.Provider(name)
		if !ok || !strings.EqualFold(p.Name, name) || p.Unit != "" {
			t.Errorf("Provider(%q) = %+v, %v", name, p, ok)
		}
	}
	if p, ok := idx.Provider("Delta"); ok {
		t.Errorf("Provider(Delta) = %+v", p)
	}
	// The pool verifies a listed certificate pinned as its own anchor.
	if _, err := w.gamma.Certificate().Verify(x509.VerifyOptions{Roots: idx.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("listed certificate not verified by Pool: %v", err)
	}
	if _, err := w.unlisted.Certificate().Verify(x509.VerifyOptions{Roots: idx.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err == nil {
		t.Errorf("unlisted certificate verified by Pool")
	}
}

// dump is a comparable rendering of the entries of a snapshot.
func dump(s *index.Snapshot) string {
	var b strings.Builder
	for _, p := range s.Providers() {
		b.WriteString(strings.ToLower(p.DN) + "|" + p.Name + "|" + p.Unit + "|" + p.MailReceipt + "|" +
			strings.Join(p.Domains, ",") + "|" + strings.Join(p.Hashes, ",") + "|" + p.LDIFLocationURL + "|" + p.Description)
		for _, c := range p.Certificates {
			b.WriteString("|" + c.SerialNumber.String())
		}
		b.WriteString("\n")
	}
	return b.String()
}
