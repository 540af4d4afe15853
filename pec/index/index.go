package index

import (
	"crypto/x509"

	"github.com/pecsdk/pec/pec/smime"
)

// BaseDN is the root of the index tree (PEC.md §13.2).
const BaseDN = "o=postacert"

// Index answers the lookups of PEC.md §13.5. Every implementation of the
// package answers from memory, never waiting on the directory. Lookups are
// safe for concurrent use.
type Index interface {
	// Domain returns the entry whose managedDomains holds domain,
	// compared case-insensitively: the recipient is a PEC address
	// ("certificato") when found, else ordinary ("esterno").
	Domain(domain string) (*Provider, bool)
	// Signer returns the entry listing cert: the hex SHA-1 of its DER in
	// providerCertificateHash, then the same DER in providerCertificate.
	// The entry's MailReceipt is where taking-charge and virus notices go.
	Signer(cert *x509.Certificate) (*Provider, bool)
	// Provider returns the main entry of the provider named name,
	// compared case-insensitively.
	Provider(name string) (*Provider, bool)
	// Pool returns a pool of every listed certificate, to verify
	// signatures against the index alone (as smime.VerifyOptions.Roots).
	Pool() *x509.CertPool
	// Authorize implements smime.Authority: nil when the signer is
	// listed, valid at at, and its provider manages the domain of from.
	// The error is a *TrustError.
	smime.Authority
}

// Provider is one entry of the index: a provider's main entry, or one of
// its secondary operating environments (Unit set). Values returned by an
// Index are shared: do not modify them.
type Provider struct {
	// DN is the entry's distinguished name. New fills it when "":
	// providerName=Name,o=postacert, or providerUnit=Unit,providerName=…
	DN string
	// Name is providerName, the name in the subject of its certificates.
	Name string
	// Unit is providerUnit, "" for the main entry.
	Unit string
	// MailReceipt is the service mailbox (presa in carico, rilevazione
	// virus are sent there).
	MailReceipt string
	// Domains are the managedDomains, lower-cased by New.
	Domains []string
	// Certificates are the providerCertificate values; several during a
	// renewal.
	Certificates []*x509.Certificate
	// Hashes are the providerCertificateHash values, hex SHA-1 (or
	// SHA-256) of the certificates, lower-cased by New. When nil, New
	// fills the SHA-1 of each certificate.
	Hashes []string
	// LDIFLocationURL is where the provider publishes its signed record.
	LDIFLocationURL string
	// Description is the free text of the entry.
	Description string
}
