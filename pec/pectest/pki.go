package pectest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/pecsdk/pec/pec/smime"
)

// PKI is a certification authority for tests: a CA certificate and its key.
// It stands in for AgID CA1 and the qualified CAs that issue PEC provider
// certificates (PEC.md §12.4).
type PKI struct {
	CA    *x509.Certificate // the CA certificate
	CAKey crypto.Signer     // the CA key

	parents []*x509.Certificate // issuers of CA up to the root, for an intermediate
}

// NewPKI creates a self-signed root CA named name: RSA-2048,
// sha256WithRSAEncryption, valid from an hour ago for ten years, with
// Basic Constraints CA, Key Usage keyCertSign|cRLSign and a Subject Key
// Identifier.
func NewPKI(name string) (*PKI, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl, err := caTemplate(name, key.Public())
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("pectest: CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &PKI{CA: ca, CAKey: key}, nil
}

// NewIntermediate creates a CA named name issued by p, as AgID CA1 is
// issued by a root: providers issued by it get a chain of the provider
// certificate and the intermediate, and Pool still holds only the root.
func (p *PKI) NewIntermediate(name string) (*PKI, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl, err := caTemplate(name, key.Public())
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CA, key.Public(), p.CAKey)
	if err != nil {
		return nil, fmt.Errorf("pectest: intermediate certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &PKI{CA: ca, CAKey: key, parents: append([]*x509.Certificate{p.CA}, p.parents...)}, nil
}

func caTemplate(name string, pub crypto.PublicKey) (*x509.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	ski, err := keyID(pub)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Country: []string{"IT"}, Organization: []string{name}, CommonName: name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SubjectKeyId:          ski,
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}, nil
}

// Root returns the self-signed root of p: p.CA, or the top issuer of an
// intermediate.
func (p *PKI) Root() *x509.Certificate {
	if len(p.parents) > 0 {
		return p.parents[len(p.parents)-1]
	}
	return p.CA
}

// CAPEM returns the root certificate in PEM, for a -CAfile of OpenSSL.
func (p *PKI) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Root().Raw})
}

// Pool returns a pool holding the root certificate: the Roots of
// smime.VerifyOptions.
func (p *PKI) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.Root())
	return pool
}

// ProviderOptions configures NewProvider. A nil *ProviderOptions and zero
// fields select the defaults.
type ProviderOptions struct {
	NotBefore time.Time // zero: an hour ago
	NotAfter  time.Time // zero: two years after NotBefore
	// KeyBits is the RSA key size: 2048 when zero. Ignored when Key is set.
	KeyBits int
	// Key is the provider key; nil generates an RSA key of KeyBits. Reuse
	// one key across tests to save key generation time, or give an ECDSA
	// key.
	Key crypto.Signer
	// NoEmailProtection omits the Extended Key Usage emailProtection and
	// puts serverAuth in its place, for negative tests.
	NoEmailProtection bool
	// Signer configures the returned signer (digest, legacy protocol).
	Signer *smime.SignerOptions
}

// NewProvider issues a provider signing certificate as PEC.md §12.3
// prescribes: subject C=IT, O=name, CN=Posta Certificata name; email as
// the only rfc822Name of the Subject Alternative Name; Key Usage
// digitalSignature, critical; Extended Key Usage emailProtection; Authority
// and Subject Key Identifiers; no Basic Constraints. It returns a signer
// ready to use, whose chain is the certificate and the issuing CAs below
// the root (the root itself for a root PKI), and the key.
func (p *PKI) NewProvider(name, email string, opts *ProviderOptions) (*smime.Signer, crypto.Signer, error) {
	var o ProviderOptions
	if opts != nil {
		o = *opts
	}
	key, err := o.signingKey()
	if err != nil {
		return nil, nil, err
	}
	cert, err := p.ProviderCertificate(name, email, key.Public(), &o)
	if err != nil {
		return nil, nil, err
	}
	s, err := p.signer(cert, key, o.Signer)
	if err != nil {
		return nil, nil, err
	}
	return s, key, nil
}

// signingKey returns o.Key, else a new RSA key of o.KeyBits (2048 when
// zero).
func (o *ProviderOptions) signingKey() (crypto.Signer, error) {
	if o.Key != nil {
		return o.Key, nil
	}
	bits := o.KeyBits
	if bits == 0 {
		bits = 2048
	}
	return rsa.GenerateKey(rand.Reader, bits)
}

// setValidity fills a zero NotBefore (an hour ago) and NotAfter (two
// years after NotBefore).
func (o *ProviderOptions) setValidity() {
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Now().Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = o.NotBefore.AddDate(2, 0, 0)
	}
}

// signer returns a signer for cert and key whose chain is cert and the
// issuing CAs below the root (the root itself for a root PKI).
func (p *PKI) signer(cert *x509.Certificate, key crypto.Signer, opts *smime.SignerOptions) (*smime.Signer, error) {
	chain := append([]*x509.Certificate{cert, p.CA}, p.parents...)
	if len(p.parents) > 0 {
		chain = chain[:len(chain)-1] // the root is the verifier's anchor
	}
	return smime.NewSigner(key, chain, opts)
}

// ProviderCertificate issues a provider certificate for pub with the
// profile of NewProvider. Key, KeyBits and Signer of opts are ignored.
func (p *PKI) ProviderCertificate(name, email string, pub crypto.PublicKey, opts *ProviderOptions) (*x509.Certificate, error) {
	var o ProviderOptions
	if opts != nil {
		o = *opts
	}
	o.setValidity()
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	ski, err := keyID(pub)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:   serial,
		Subject:        pkix.Name{Country: []string{"IT"}, Organization: []string{name}, CommonName: "Posta Certificata " + name},
		NotBefore:      o.NotBefore,
		NotAfter:       o.NotAfter,
		KeyUsage:       x509.KeyUsageDigitalSignature, // Go marks Key Usage critical
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		EmailAddresses: []string{email},
		SubjectKeyId:   ski,
		AuthorityKeyId: p.CA.SubjectKeyId,
	}
	if o.NoEmailProtection {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CA, pub, p.CAKey)
	if err != nil {
		return nil, fmt.Errorf("pectest: provider certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

func randomSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// keyID is the SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2 (1)).
func keyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		Key       asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, errors.New("pectest: public key: " + err.Error())
	}
	sum := sha1.Sum(spki.Key.Bytes)
	return sum[:], nil
}
