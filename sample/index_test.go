package sample_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/sample"
)

// TestIndexLDIF: the sample index lists both providers with their
// certificate, domain and service address, and its LDIF reads back the
// same.
func TestIndexLDIF(t *testing.T) {
	set, err := sample.New(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, err := set.IndexLDIF()
	if err != nil {
		t.Fatal(err)
	}
	idx, err := index.ParseLDIF(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		domain, provider string
		signer           interface{ Address() string }
	}{
		{sample.SenderDomain, sample.SenderProvider, set.Sender},
		{sample.RecipientDomain, sample.RecipientProvider, set.Recipient},
	} {
		p, ok := idx.Domain(tc.domain)
		if !ok || p.Name != tc.provider || p.MailReceipt != tc.signer.Address() {
			t.Errorf("Domain(%s) = %+v, %v", tc.domain, p, ok)
		}
	}
	if q, ok := idx.Signer(set.Sender.Certificate()); !ok || q.Name != sample.SenderProvider {
		t.Errorf("Signer(sender) = %+v", q)
	}
	if q, ok := idx.Signer(set.Recipient.Certificate()); !ok || q.Name != sample.RecipientProvider {
		t.Errorf("Signer(recipient) = %+v", q)
	}
	if _, ok := idx.Domain(sample.Carol[len("carol@"):]); ok {
		t.Errorf("the ordinary domain is listed")
	}
	if idx.Len() != 2 {
		t.Errorf("%d entries, want 2", idx.Len())
	}
}
