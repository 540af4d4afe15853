package pecmail_test

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pecsdk/pec/internal/testenv"
	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/pecmail"
)

// corpusFile is one message of ../shared/corpus, in memory.
type corpusFile struct {
	name string
	raw  []byte
}

// loadCorpus reads every .eml of the corpus, skipping (failing under
// CI=true) when it is absent.
func loadCorpus(tb testing.TB) (files []corpusFile, total int64) {
	tb.Helper()
	for _, p := range testenv.CorpusFiles(tb) {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, corpusFile{name: filepath.Base(p), raw: b})
		total += int64(len(b))
	}
	return files, total
}

// corpusTrust returns verification options that trust the providers
// whose certificates sign the corpus, as pinned providers (index.New),
// each managing the domains of the From addresses it signs for. The
// corpus certificates have expired: they are judged as of each
// signature's signing time.
func corpusTrust(tb testing.TB, files []corpusFile) *smime.VerifyOptions {
	tb.Helper()
	type prov struct {
		name    string
		certs   map[string]*x509.Certificate
		domains map[string]bool
		mailbox string
	}
	byName := map[string]*prov{}
	for _, f := range files {
		m, err := pecmail.Read(bytes.NewReader(f.raw), nil)
		if err != nil {
			tb.Fatalf("%s: %v", f.name, err)
		}
		p := m.PEC()
		if p == nil || p.Signature == nil || p.Signature.Signer == nil {
			continue
		}
		c := p.Signature.Signer
		name := c.Subject.CommonName
		if len(c.Subject.Organization) > 0 {
			name = c.Subject.Organization[0]
		}
		pv := byName[strings.ToLower(name)]
		if pv == nil {
			pv = &prov{name: name, certs: map[string]*x509.Certificate{}, domains: map[string]bool{}}
			byName[strings.ToLower(name)] = pv
		}
		pv.certs[string(c.Raw)] = c
		for _, a := range append([]string{p.Signature.SignerEmail}, fromAddr(p)) {
			if i := strings.LastIndexByte(a, '@'); i > 0 {
				pv.domains[strings.ToLower(a[i+1:])] = true
				if pv.mailbox == "" {
					pv.mailbox = a
				}
			}
		}
	}
	var providers []index.Provider
	for _, pv := range byName {
		ip := index.Provider{Name: pv.name, MailReceipt: pv.mailbox}
		for d := range pv.domains {
			ip.Domains = append(ip.Domains, d)
		}
		sort.Strings(ip.Domains)
		for _, c := range pv.certs {
			ip.Certificates = append(ip.Certificates, c)
		}
		providers = append(providers, ip)
	}
	if len(providers) == 0 {
		tb.Fatal("no signer certificate in the corpus")
	}
	idx, err := index.New(providers)
	if err != nil {
		tb.Fatal(err)
	}
	return &smime.VerifyOptions{Authority: idx, AsOfSigningTime: true}
}

func fromAddr(m *pecmail.Message) string {
	l, err := m.Header().AddressList("From")
	if err != nil || len(l) != 1 {
		return ""
	}
	return l[0].Address
}
