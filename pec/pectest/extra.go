package pectest

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"

	"github.com/pecsdk/pec/pec/smime"
)

// oidEmailAddress is the emailAddress attribute of a subject (RFC 2985).
var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// NewEmailUser issues an ordinary e-mail certificate, as a CA issues one
// to a person or an office, not a PEC provider: subject CN=name with
// email as an emailAddress attribute too, email as the rfc822Name of the
// Subject Alternative Name, Key Usage digitalSignature|keyEncipherment,
// Extended Key Usage emailProtection and clientAuth. It chains to the
// same root as the providers of p: the certificate a verifier must not
// take for a provider, or for the publisher of the index, because of its
// root alone. It returns a signer whose chain is built as NewProvider's,
// and the key. Of opts, NotBefore, NotAfter, Key, KeyBits and Signer are
// used.
func (p *PKI) NewEmailUser(name, email string, opts *ProviderOptions) (*smime.Signer, crypto.Signer, error) {
	var o ProviderOptions
	if opts != nil {
		o = *opts
	}
	key, err := o.signingKey()
	if err != nil {
		return nil, nil, err
	}
	o.setValidity()
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	ski, err := keyID(key.Public())
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{CommonName: name, ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: oidEmailAddress, Value: email},
		}},
		NotBefore:      o.NotBefore,
		NotAfter:       o.NotAfter,
		KeyUsage:       x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection, x509.ExtKeyUsageClientAuth},
		EmailAddresses: []string{email},
		SubjectKeyId:   ski,
		AuthorityKeyId: p.CA.SubjectKeyId,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CA, key.Public(), p.CAKey)
	if err != nil {
		return nil, nil, fmt.Errorf("pectest: e-mail certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	s, err := p.signer(cert, key, o.Signer)
	if err != nil {
		return nil, nil, err
	}
	return s, key, nil
}
