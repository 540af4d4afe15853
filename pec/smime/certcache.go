package smime

import (
	"bytes"
	"crypto/x509"
	"sync"
)

// maxCachedCertificates bounds the certificates kept parsed. A mailbox is
// signed by the few certificates of a few providers (each rotates its
// signing certificate every year or two): a few hundred cover any
// realistic mix, at about 4 KiB each.
const maxCachedCertificates = 512

// certCache holds the certificates parsed from signatures, keyed by their
// whole DER encoding: a certificate is parsed once, and only the very
// same bytes find it again. It caches parsing only, never a judgement:
// each verification checks signature, chain, validity and authority on
// its own.
type certCache struct {
	mu sync.Mutex
	m  map[string]*x509.Certificate
}

var parsedCerts = &certCache{m: make(map[string]*x509.Certificate)}

// get returns the certificate whose DER encoding is der, or nil.
func (c *certCache) get(der []byte) *x509.Certificate {
	c.mu.Lock()
	cert := c.m[string(der)]
	c.mu.Unlock()
	return cert
}

// put records cert, parsed from its own copy of its DER encoding. When the
// cache is full an arbitrary entry makes room.
func (c *certCache) put(cert *x509.Certificate) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[string(cert.Raw)]; ok {
		return
	}
	if len(c.m) >= maxCachedCertificates {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[string(cert.Raw)] = cert
}

// parseCertificates parses the concatenated DER certificates of a
// SignedData as x509.ParseCertificates does, with the same result and
// errors, through parsedCerts. The certificates returned never share
// memory with b: a new one is parsed from a copy of its bytes. They are
// shared with other verifications and must not be modified.
func parseCertificates(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for off := 0; off < len(b); {
		h, err := readBERHeader(b, off)
		if err != nil || h.length < 0 || b[off] != 0x30 {
			// Not a certificate: x509 says why.
			return x509.ParseCertificates(bytes.Clone(b))
		}
		der := b[off : h.start+h.length]
		cert := parsedCerts.get(der)
		if cert == nil {
			if cert, err = x509.ParseCertificate(bytes.Clone(der)); err != nil {
				return x509.ParseCertificates(bytes.Clone(b))
			}
			parsedCerts.put(cert)
		}
		certs = append(certs, cert)
		off = h.start + h.length
	}
	return certs, nil
}
