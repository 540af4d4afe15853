package smime

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"strings"
	"time"
)

// randReader is the randomness of signatures and boundaries.
var randReader = rand.Reader

// SignerOptions configures a Signer. A nil *SignerOptions and zero fields
// select the defaults.
type SignerOptions struct {
	// Hash is the digest algorithm: crypto.SHA256 when zero (PEC.md §12.2).
	// crypto.SHA1, as most real providers still use, is allowed for
	// interoperability tests; crypto.SHA384 and crypto.SHA512 too.
	Hash crypto.Hash
	// LegacyProtocol makes NewWriter label the signature
	// application/x-pkcs7-signature, as older providers do, instead of
	// application/pkcs7-signature.
	LegacyProtocol bool
}

// Signer signs PEC messages with a provider key and certificate chain. It
// is safe for concurrent use when its key is.
type Signer struct {
	key   crypto.Signer
	chain []*x509.Certificate
	hash  crypto.Hash
	ctype string
}

// NewSigner returns a Signer for key. chain[0] is the signer certificate,
// whose public key must be key's; the issuers follow and are all put in
// every signature (real PEC signatures carry the issuing CA, PEC.md §12.1).
// The key may be an *rsa.PrivateKey, an *ecdsa.PrivateKey, or any
// crypto.Signer with such a public key, for example one backed by an HSM.
func NewSigner(key crypto.Signer, chain []*x509.Certificate, opts *SignerOptions) (*Signer, error) {
	if len(chain) == 0 || chain[0] == nil {
		return nil, ErrNoCertificate
	}
	if key == nil {
		return nil, ErrKeyMismatch
	}
	var o SignerOptions
	if opts != nil {
		o = *opts
	}
	if o.Hash == 0 {
		o.Hash = crypto.SHA256
	}
	if _, ok := digestOIDs[o.Hash]; !ok || !o.Hash.Available() {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedHash, o.Hash)
	}
	switch chain[0].PublicKey.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, chain[0].PublicKey)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(chain[0].PublicKey) {
		return nil, ErrKeyMismatch
	}
	for i, c := range chain {
		if c == nil {
			return nil, fmt.Errorf("%w: chain[%d] is nil", ErrNoCertificate, i)
		}
	}
	s := &Signer{key: key, chain: append([]*x509.Certificate(nil), chain...), hash: o.Hash, ctype: ContentType}
	if o.LegacyProtocol {
		s.ctype = LegacyContentType
	}
	return s, nil
}

// Certificate returns the signer certificate, chain[0].
func (s *Signer) Certificate() *x509.Certificate { return s.chain[0] }

// Chain returns a copy of the certificate chain given to NewSigner.
func (s *Signer) Chain() []*x509.Certificate {
	return append([]*x509.Certificate(nil), s.chain...)
}

// Hash returns the digest algorithm of the signatures.
func (s *Signer) Hash() crypto.Hash { return s.hash }

// Address returns the first rfc822Name of the signer certificate's Subject
// Alternative Name, lower-cased: the provider's service address, the From
// of every message it signs (PEC.md §12.3). It is "" when there is none.
func (s *Signer) Address() string {
	if len(s.chain[0].EmailAddresses) == 0 {
		return ""
	}
	return strings.ToLower(s.chain[0].EmailAddresses[0])
}

// SignDetached returns the DER of a detached CMS SignedData over content,
// read to its end as given: no line ending is changed.
func (s *Signer) SignDetached(content io.Reader, signingTime time.Time) ([]byte, error) {
	h := s.hash.New()
	if _, err := io.Copy(h, content); err != nil {
		return nil, err
	}
	return buildSignedData(s.key, s.chain, s.hash, h.Sum(nil), signingTime, nil)
}

// SignAttached returns the DER of a CMS SignedData that encapsulates
// content, as in a signed file (.p7m) such as the provider index LDIF.
func (s *Signer) SignAttached(content []byte, signingTime time.Time) ([]byte, error) {
	h := s.hash.New()
	h.Write(content)
	if content == nil {
		content = []byte{}
	}
	return buildSignedData(s.key, s.chain, s.hash, h.Sum(nil), signingTime, content)
}
