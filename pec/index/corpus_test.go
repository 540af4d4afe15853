package index_test

import (
	"bytes"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/internal/testenv"
	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/receipt"
)

// verdictOf parses a message as an envelope or a receipt and returns its
// signature verdict and From address.
func verdictOf(t *testing.T, b []byte, opts *smime.VerifyOptions) (*smime.Verdict, string) {
	t.Helper()
	if e, err := envelope.Parse(bytes.NewReader(b), opts); err == nil {
		l, _ := e.Header.AddressList("From")
		if len(l) == 0 {
			return e.Signature, ""
		}
		return e.Signature, l[0].Address
	} else if !errors.Is(err, envelope.ErrNotEnvelope) {
		return nil, ""
	}
	r, err := receipt.Parse(bytes.NewReader(b), opts)
	if err != nil {
		return nil, ""
	}
	l, _ := r.Header.AddressList("From")
	if len(l) == 0 {
		return r.Signature, ""
	}
	return r.Signature, l[0].Address
}

// TestCorpus: real providers' certificates (RSA, SHA-1 era) survive the
// LDIF, and an index listing each real signer for its From domain trusts
// every intact message of the corpus as of its signing time; the index of
// the test world trusts none, as unlisted.
func TestCorpus(t *testing.T) {
	files := testenv.CorpusFiles(t)
	type msg struct {
		name string
		b    []byte
	}
	var msgs []msg
	byName := map[string]*index.Provider{}
	var order []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v, from := verdictOf(t, b, nil)
		if v == nil || v.Signer == nil || !v.Intact || from == "" {
			continue
		}
		msgs = append(msgs, msg{filepath.Base(f), b})
		name := v.Signer.Subject.Organization
		if len(name) == 0 {
			name = []string{v.Signer.Subject.CommonName}
		}
		// Real certificates spell one provider's name in several cases
		// ("ARUBA PEC S.p.A.", "Aruba PEC S.p.A."): providerName matches
		// case-insensitively.
		key := strings.ToLower(name[0])
		p := byName[key]
		if p == nil {
			p = &index.Provider{Name: name[0], MailReceipt: from}
			byName[key] = p
			order = append(order, key)
		}
		domain := strings.ToLower(from[strings.LastIndexByte(from, '@')+1:])
		if !contains(p.Domains, domain) {
			p.Domains = append(p.Domains, domain)
		}
		if !containsCert(p.Certificates, v.Signer) {
			p.Certificates = append(p.Certificates, v.Signer)
		}
	}
	if len(msgs) == 0 {
		t.Fatal("no intact signed message in the corpus")
	}
	var ps []index.Provider
	for _, n := range order {
		ps = append(ps, *byName[n])
	}
	mem, err := index.New(ps)
	if err != nil {
		t.Fatal(err)
	}
	var ldif bytes.Buffer
	if err := mem.WriteLDIF(&ldif); err != nil {
		t.Fatal(err)
	}
	idx, err := index.ParseLDIF(&ldif)
	if err != nil {
		t.Fatal(err)
	}
	if dump(idx) != dump(mem) {
		t.Fatalf("real certificates changed through LDIF:\n%s\n%s", dump(idx), dump(mem))
	}
	other, err := index.New(testWorld(t).providers)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d messages of %d providers", len(msgs), len(ps))
	for _, m := range msgs {
		t.Run(m.name, func(t *testing.T) {
			// Archived messages: their certificates expired since, so they
			// are judged as of their signing time.
			v, _ := verdictOf(t, m.b, &smime.VerifyOptions{Authority: idx, AsOfSigningTime: true})
			if v == nil || v.Trusted == nil || !*v.Trusted {
				t.Fatalf("not trusted with its signer listed: %v", v.Problems)
			}
			v, _ = verdictOf(t, m.b, &smime.VerifyOptions{Authority: other, AsOfSigningTime: true})
			if v == nil || v.Trusted == nil || *v.Trusted || !v.HasProblem(smime.ProblemUnlisted) {
				t.Fatalf("trusted by an index that does not list it: %v", v.Problems)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsCert(list []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range list {
		if x.Equal(c) {
			return true
		}
	}
	return false
}
