package index

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/pectest"
)

// ldifSeeds are small LDIF texts covering the grammar; the seed corpus
// under testdata/fuzz/FuzzLDIF adds full provider dumps.
var ldifSeeds = []string{
	"version: 1\n\ndn: o=postacert\nobjectClass: top\no: postacert\n",
	"dn: providerName=Example PEC S.p.A.,o=postacert\r\nobjectclass: provider\r\nproviderName: Example\r\n  PEC S.p.A.\r\nmailReceipt: a@b.example\r\nmanagedDomains: b.example\r\nproviderCertificateHash: 7E7AEF1059AE0F454F2643A95F69EC3556009239\r\nproviderCertificate;binary:: MIIB\r\n",
	"# comment\n continued\ndn:: bz1wb3N0YWNlcnQ=\ndescription:: w6g=\n\n",
	"dn: o=x\nchangetype: modify\nadd: a\na: 1\n-\ndelete: b\n-\nreplace: c\nc: 2\n",
	"dn: o=x\nchangetype: delete\n",
	"dn: o=x\ncontrol: 1.2.3 true: dmFsdWU=\nchangetype: add\na: b\n",
	"dn: o=x\njpegPhoto:< file:///x\n",
}

// FuzzLDIF: the reader never panics, fails only with a *SyntaxError, and
// what it reads, written and read again, is the same; ParseLDIF never
// panics either.
func FuzzLDIF(f *testing.F) {
	for _, s := range ldifSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := readLDIF(bytes.NewReader(data))
		ParseLDIF(bytes.NewReader(data))
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line < 1 {
				t.Fatalf("error %v is not a *SyntaxError with a line", err)
			}
			return
		}
		var b bytes.Buffer
		if err := writeLDIF(&b, recs); err != nil {
			t.Fatal(err)
		}
		again, err := readLDIF(&b)
		if err != nil {
			t.Fatalf("written LDIF does not read back: %v\n%s", err, b.String())
		}
		if !sameRecords(recs, again) {
			t.Fatalf("round trip differs:\n%+v\n%+v\n%s", recs, again, b.String())
		}
	})
}

// TestFuzzSeedsPresent keeps the provider-dump seeds beside the target.
func TestFuzzSeedsPresent(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzLDIF", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seeds in testdata/fuzz/FuzzLDIF: %v", err)
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}
}

// signedFixture is a signed dump for FuzzParseSignedLDIF: the publisher's
// and a provider's signature of it under one root, and what it reads as.
type signedFixture struct {
	opts        *SignedOptions
	genuine     []byte // signed by the pinned publisher
	byProvider  []byte // signed by a provider's key under the same root
	dump        string // WriteLDIF of the genuine index
	signingTime time.Time
}

var (
	signedOnce sync.Once
	signedFix  *signedFixture
	signedErr  error
)

func newSignedFixture() (*signedFixture, error) {
	ldif, err := os.ReadFile(filepath.Join("testdata", "sample.ldif"))
	if err != nil {
		return nil, err
	}
	pki, err := pectest.NewPKI("Fuzz Root")
	if err != nil {
		return nil, err
	}
	pub, _, err := pki.NewProvider("Indice PEC", "indice@indice.example", nil)
	if err != nil {
		return nil, err
	}
	prov, _, err := pki.NewProvider("Gestore Mittente S.p.A.", "posta-certificata@pec.mittente.example", nil)
	if err != nil {
		return nil, err
	}
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	f := &signedFixture{signingTime: at, opts: &SignedOptions{Anchors: pki.Pool(), Publisher: &Publisher{Email: "indice@indice.example"}}}
	if f.genuine, err = pub.SignAttached(ldif, at); err != nil {
		return nil, err
	}
	if f.byProvider, err = prov.SignAttached(ldif, at); err != nil {
		return nil, err
	}
	s, err := ParseSignedLDIF(f.genuine, f.opts)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := s.WriteLDIF(&b); err != nil {
		return nil, err
	}
	f.dump = b.String()
	return f, nil
}

// FuzzParseSignedLDIF: whatever the bytes, a signed index is either
// refused with a *SignedLDIFError, or it is the very index the pinned
// publisher signed, with its signing time: no change to the signed object
// (its content, certificates, signer or attributes) gets another index
// through, nor the same index under another signer.
func FuzzParseSignedLDIF(f *testing.F) {
	signedOnce.Do(func() { signedFix, signedErr = newSignedFixture() })
	if signedErr != nil {
		f.Fatal(signedErr)
	}
	fx := signedFix
	f.Add(fx.genuine)
	f.Add(fx.byProvider)
	f.Add(fx.genuine[:len(fx.genuine)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSignedLDIF(data, fx.opts)
		if err != nil {
			var se *SignedLDIFError
			if !errors.As(err, &se) {
				t.Fatalf("refusal %v is not a *SignedLDIFError", err)
			}
			return
		}
		var b bytes.Buffer
		if err := s.WriteLDIF(&b); err != nil {
			t.Fatal(err)
		}
		if b.String() != fx.dump || !s.SigningTime().Equal(fx.signingTime) {
			t.Fatalf("accepted an index the publisher did not sign (signed at %v):\n%s", s.SigningTime(), b.String())
		}
	})
}
