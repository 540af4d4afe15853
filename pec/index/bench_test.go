package index_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/pectest"
)

// The benchmark index: 10,000 providers of 10 domains each, one
// certificate each (ECDSA, issued by an ECDSA CA to build it quickly; a
// certificate's size, not its algorithm, matters to the lookups).
const (
	benchProviders = 10000
	benchDomains   = 10
)

var (
	benchOnce  sync.Once
	benchList  []index.Provider
	benchLDIF  []byte
	benchSnap  *index.Snapshot
	benchNames []string // every domain, in a shuffled order
	benchErr   error
)

func benchIndex(b *testing.B) {
	b.Helper()
	benchOnce.Do(func() {
		benchErr = buildBench()
		runtime.GC() // the garbage of the build is not the lookups' cost
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
}

func buildBench() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Bench CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(5, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return err
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	for i := range benchProviders {
		name := fmt.Sprintf("Gestore %05d S.p.A.", i)
		email := fmt.Sprintf("posta-certificata@pec%05d.example", i)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 2)),
			Subject:      pkix.Name{Country: []string{"IT"}, Organization: []string{name}, CommonName: "Posta Certificata " + name},
			NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(2, 0, 0),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
			EmailAddresses: []string{email},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
		if err != nil {
			return err
		}
		c, _ := x509.ParseCertificate(der)
		p := index.Provider{Name: name, MailReceipt: email, Certificates: []*x509.Certificate{c}}
		for d := range benchDomains {
			p.Domains = append(p.Domains, fmt.Sprintf("dominio%d.pec%05d.example", d, i))
		}
		benchList = append(benchList, p)
		benchNames = append(benchNames, p.Domains...)
	}
	// A fixed shuffle, so that consecutive lookups hit different buckets.
	for i := range benchNames {
		j := (i * 7919) % len(benchNames)
		benchNames[i], benchNames[j] = benchNames[j], benchNames[i]
	}
	if benchSnap, err = index.New(benchList); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := benchSnap.WriteLDIF(&buf); err != nil {
		return err
	}
	benchLDIF = buf.Bytes()
	return nil
}

// BenchmarkDomain: is this recipient domain PEC? (lower-case input).
func BenchmarkDomain(b *testing.B) {
	benchIndex(b)
	n := len(benchNames)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, ok := benchSnap.Domain(benchNames[i%n]); !ok {
			b.Fatal("not found")
		}
	}
}

// BenchmarkDomainMixedCase: the same with domains as users type them.
func BenchmarkDomainMixedCase(b *testing.B) {
	benchIndex(b)
	upper := make([]string, 1000)
	for i := range upper {
		upper[i] = strings.ToUpper(benchNames[i*97])
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, ok := benchSnap.Domain(upper[i%len(upper)]); !ok {
			b.Fatal("not found")
		}
	}
}

// BenchmarkDomainMiss: ordinary (non-PEC) domains.
func BenchmarkDomainMiss(b *testing.B) {
	benchIndex(b)
	for i := 0; b.Loop(); i++ {
		if _, ok := benchSnap.Domain("gmail.com"); ok {
			b.Fatal("found")
		}
	}
}

// BenchmarkMirrorDomainParallel: lookups through a Mirror (atomic load of
// the snapshot) from every core at once.
func BenchmarkMirrorDomainParallel(b *testing.B) {
	benchIndex(b)
	m := index.NewMirror(sourceOf(benchSnap), nil)
	if err := m.Refresh(b.Context()); err != nil {
		b.Fatal(err)
	}
	n := len(benchNames)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := m.Domain(benchNames[i%n]); !ok {
				b.Fatal("not found")
			}
			i++
		}
	})
}

// BenchmarkSigner: who signed this? (SHA-1 of the DER, then comparison).
func BenchmarkSigner(b *testing.B) {
	benchIndex(b)
	for i := 0; b.Loop(); i++ {
		c := benchList[(i*7919)%benchProviders].Certificates[0]
		if _, ok := benchSnap.Signer(c); !ok {
			b.Fatal("not found")
		}
	}
}

// BenchmarkAuthorize: the whole trust decision of a verification.
func BenchmarkAuthorize(b *testing.B) {
	benchIndex(b)
	now := time.Now()
	for i := 0; b.Loop(); i++ {
		p := benchList[(i*7919)%benchProviders]
		if err := benchSnap.Authorize(p.Certificates[0], "mario@"+p.Domains[3], now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefMapLookup is the floor of BenchmarkDomain: a bare Go map of
// the same keys.
func BenchmarkRefMapLookup(b *testing.B) {
	benchIndex(b)
	m := make(map[string]int, len(benchNames))
	for i, d := range benchNames {
		m[d] = i
	}
	n := len(benchNames)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, ok := m[benchNames[i%n]]; !ok {
			b.Fatal("not found")
		}
	}
}

// BenchmarkRefSHA1Cert is the floor of BenchmarkSigner: the SHA-1 of a
// certificate's DER.
func BenchmarkRefSHA1Cert(b *testing.B) {
	benchIndex(b)
	der := benchList[0].Certificates[0].Raw
	b.SetBytes(int64(len(der)))
	for b.Loop() {
		sha1.Sum(der)
	}
}

// BenchmarkParseLDIF reads the 10,000-provider dump, and reports the heap
// one resulting snapshot retains (snapshot-MB) and the size of the LDIF.
func BenchmarkParseLDIF(b *testing.B) {
	benchIndex(b)
	b.SetBytes(int64(len(benchLDIF)))
	for b.Loop() {
		if _, err := index.ParseLDIF(bytes.NewReader(benchLDIF)); err != nil {
			b.Fatal(err)
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s, err := index.ParseLDIF(bytes.NewReader(benchLDIF))
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if s.Len() != benchProviders {
		b.Fatalf("%d entries", s.Len())
	}
	runtime.KeepAlive(s)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "snapshot-MB")
	b.ReportMetric(float64(len(benchLDIF))/(1<<20), "ldif-MB")
}

// BenchmarkParseSignedLDIF reads the 10,000-provider dump signed by a
// pinned publisher: the signature, chain and pin checks over
// BenchmarkParseLDIF, whose floor is BenchmarkRefSHA256LDIF.
func BenchmarkParseSignedLDIF(b *testing.B) {
	benchIndex(b)
	pki, err := pectest.NewPKI("Bench Root")
	if err != nil {
		b.Fatal(err)
	}
	pub, _, err := pki.NewProvider("Indice PEC", "indice@indice.example", nil)
	if err != nil {
		b.Fatal(err)
	}
	p7m, err := pub.SignAttached(benchLDIF, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	opts := &index.SignedOptions{Anchors: pki.Pool(), Publisher: &index.Publisher{
		Certificates: []*x509.Certificate{pub.Certificate()}, Email: "indice@indice.example"}}
	b.SetBytes(int64(len(benchLDIF)))
	for b.Loop() {
		if _, err := index.ParseSignedLDIF(p7m, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefSHA256LDIF is the floor the signature adds to
// BenchmarkParseSignedLDIF: the digest of the dump.
func BenchmarkRefSHA256LDIF(b *testing.B) {
	benchIndex(b)
	b.SetBytes(int64(len(benchLDIF)))
	for b.Loop() {
		sha256.Sum256(benchLDIF)
	}
}

// fixedSource is a Source that always loads s.
type fixedSource struct{ s *index.Snapshot }

func (f fixedSource) Load(context.Context) (*index.Snapshot, error) { return f.s, nil }

func sourceOf(s *index.Snapshot) index.Source { return fixedSource{s} }
