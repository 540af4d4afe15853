package smime

import (
	"crypto"
	_ "crypto/sha1" // the digests Micalg names, for crypto.Hash.New
	_ "crypto/sha256"
	_ "crypto/sha512"
	"strings"
)

// Media types of the detached signature part (RFC 5751 §3.2.1). Real PEC
// providers still send the pre-RFC 5751 LegacyContentType (PEC.md §7.1,
// §17 item 15); both are accepted.
const (
	ContentType       = "application/pkcs7-signature"
	LegacyContentType = "application/x-pkcs7-signature"
)

// Micalg returns the micalg parameter of multipart/signed for a digest
// (RFC 5751 §3.4.3.2): "sha-256", "sha-384", "sha-512", and "sha1" for
// SHA-1, the spelling real PEC providers use (RFC 5751 names it "sha-1";
// ParseMicalg accepts both). It returns "" for other digests.
func Micalg(h crypto.Hash) string {
	switch h {
	case crypto.SHA1:
		return "sha1"
	case crypto.SHA256:
		return "sha-256"
	case crypto.SHA384:
		return "sha-384"
	case crypto.SHA512:
		return "sha-512"
	}
	return ""
}

// ParseMicalg returns the digest named by a micalg parameter value. It is
// tolerant: case, quotes, white space and the hyphen are ignored ("sha1",
// "SHA-1", "sha256", "\"sha-256\""), and of a comma-separated list (one
// entry per signer) the first known name wins. It returns ErrUnknownMicalg
// when no name is known.
func ParseMicalg(s string) (crypto.Hash, error) {
	for _, name := range strings.Split(s, ",") {
		name = strings.ToLower(strings.Trim(strings.TrimSpace(name), `"' `))
		switch strings.ReplaceAll(name, "-", "") {
		case "sha1":
			return crypto.SHA1, nil
		case "sha256":
			return crypto.SHA256, nil
		case "sha384":
			return crypto.SHA384, nil
		case "sha512":
			return crypto.SHA512, nil
		}
	}
	return 0, ErrUnknownMicalg
}
