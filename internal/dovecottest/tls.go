package dovecottest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"time"
)

// TLS is a test certificate authority and a server certificate it issued
// for 127.0.0.1 and localhost.
type TLS struct {
	CA      *x509.Certificate
	Pool    *x509.CertPool // holds CA: the RootCAs of a client
	CertPEM []byte         // server certificate, then the CA
	KeyPEM  []byte         // server key (PKCS #8)
	Cert    tls.Certificate
}

// NewTLS creates a fresh CA named name and a server certificate issued by
// it, valid from an hour ago for a day.
func NewTLS(name string) (*TLS, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	t := &TLS{CA: ca, Pool: x509.NewCertPool()}
	t.Pool.AddCert(ca)
	t.CertPEM = append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...)
	t.KeyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	t.Cert, err = tls.X509KeyPair(t.CertPEM, t.KeyPEM)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// CAPEM returns the CA certificate in PEM.
func (t *TLS) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: t.CA.Raw})
}

// ServerConfig returns a server TLS configuration with the certificate.
func (t *TLS) ServerConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{t.Cert}, MinVersion: tls.VersionTLS12}
}

// ClientConfig returns a client TLS configuration that trusts the CA.
func (t *TLS) ClientConfig() *tls.Config {
	return &tls.Config{RootCAs: t.Pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// PoolFromPEM reads a PEM file of CA certificates into a pool.
func PoolFromPEM(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, errors.New("dovecottest: no certificate in " + path)
	}
	return pool, nil
}

// ClientConfigFor returns a client TLS configuration trusting pool, for
// the loopback servers.
func ClientConfigFor(pool *x509.CertPool) *tls.Config {
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}
