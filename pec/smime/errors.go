package smime

import "errors"

// Sentinel errors of the package, matched with errors.Is. Verification
// problems are not errors: they are reported in a Verdict.
var (
	// ErrNoCertificate reports a signer without a certificate chain.
	ErrNoCertificate = errors.New("smime: no signer certificate")
	// ErrKeyMismatch reports a key whose public half is not the one in the
	// signer certificate.
	ErrKeyMismatch = errors.New("smime: key does not match the signer certificate")
	// ErrUnsupportedKey reports a key type the package cannot sign with
	// (RSA and ECDSA are supported).
	ErrUnsupportedKey = errors.New("smime: unsupported key type")
	// ErrUnsupportedHash reports a digest other than SHA-1, SHA-256,
	// SHA-384 and SHA-512.
	ErrUnsupportedHash = errors.New("smime: unsupported digest algorithm")
	// ErrUnknownMicalg reports a micalg parameter naming no supported digest.
	ErrUnknownMicalg = errors.New("smime: unknown micalg")
	// ErrClosed reports a write to a signing writer after Close.
	ErrClosed = errors.New("smime: writer closed")
)
