package sample

import (
	"bytes"
	"crypto/x509"

	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/smime"
)

// Index returns the provider index of the sample world (PEC.md §13): the
// sender's and the recipient's providers, each with its signing
// certificate, its domain and its service mailbox. Used as
// smime.VerifyOptions.Authority, it trusts every message of the set.
func (s *Set) Index() (*index.Snapshot, error) {
	entry := func(name, domain string, signer *smime.Signer) index.Provider {
		return index.Provider{
			Name:         name,
			MailReceipt:  signer.Address(),
			Domains:      []string{domain},
			Certificates: []*x509.Certificate{signer.Certificate()},
			Description:  "sample provider",
		}
	}
	return index.New([]index.Provider{
		entry(SenderProvider, SenderDomain, s.Sender),
		entry(RecipientProvider, RecipientDomain, s.Recipient),
	})
}

// IndexLDIF returns Index as the LDIF of PEC.md §13.4, as "pec sample"
// writes it to index.ldif.
func (s *Set) IndexLDIF() ([]byte, error) {
	idx, err := s.Index()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := idx.WriteLDIF(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
