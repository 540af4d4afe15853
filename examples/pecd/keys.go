package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// A KeySource opens a signing key that is not a file: a key held in an
// HSM or a cloud key service, named in the configuration as
// scheme:reference (key = pkcs11:token=pec;object=signing). It returns any
// crypto.Signer whose public key is the certificate's; the key never
// leaves the device, and pec/smime signs through Sign.
//
// To plug one in, add a file to this program that registers it for its
// scheme in an init function, for example with a PKCS#11 library (such as
// github.com/ThalesIgnite/crypto11, whose FindKeyPair returns a
// crypto.Signer), built with a tag so that the default build does not
// need it:
//
//	//go:build pkcs11
//
//	func init() {
//		keySources["pkcs11"] = func(ctx context.Context, ref string) (crypto.Signer, error) {
//			ctx11, err := crypto11.Configure(&crypto11.Config{Path: os.Getenv("PKCS11_MODULE"), TokenLabel: ..., Pin: ...})
//			...
//			return ctx11.FindKeyPair(nil, []byte(label))
//		}
//	}
type KeySource func(ctx context.Context, ref string) (crypto.Signer, error)

// keySources are the key sources by scheme; "file" is built in.
var keySources = map[string]KeySource{
	"file": func(_ context.Context, ref string) (crypto.Signer, error) { return loadKeyFile(ref) },
}

// openKey opens the key named name: a file path, or scheme:reference of a
// registered KeySource.
func openKey(ctx context.Context, name string) (crypto.Signer, error) {
	if scheme, ref, ok := strings.Cut(name, ":"); ok && !strings.ContainsAny(scheme, `/\.`) && len(scheme) > 1 {
		src, ok := keySources[strings.ToLower(scheme)]
		if !ok {
			return nil, fmt.Errorf("key %q: no key source for scheme %q compiled in", name, scheme)
		}
		return src(ctx, ref)
	}
	return loadKeyFile(name)
}

// loadKeyFile reads a PEM private key: PKCS#8, PKCS#1 (RSA) or SEC 1 (EC).
func loadKeyFile(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := parseKeyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// parseKeyPEM reads the first private key block of b.
func parseKeyPEM(b []byte) (crypto.Signer, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, errors.New("no PEM private key")
		}
		var k any
		var err error
		switch blk.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(blk.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("encrypted private keys are not read: protect the file by its permissions, or keep the key in an HSM")
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		switch k := k.(type) {
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
			return k.(crypto.Signer), nil
		}
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
}

// keyPEM encodes k as PKCS#8.
func keyPEM(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// loadCerts reads every certificate of a PEM file, in order.
func loadCerts(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return out, nil
}

// certsPEM encodes certificates.
func certsPEM(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// matchKey reports an error when key is not the key of cert.
func matchKey(cert *x509.Certificate, key crypto.Signer) error {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pk, ok := key.Public().(equaler); !ok || !pk.Equal(cert.PublicKey) {
		return fmt.Errorf("the key is not the key of the certificate %q", cert.Subject)
	}
	return nil
}
