package smime

// ProblemCode names why a signature is not intact, not trusted, or does not
// match the sender, or carries an informational note. The values are stable
// and may be logged or stored.
type ProblemCode string

// Problem codes of a Verdict.
const (
	// ProblemMalformed: the signature is not a usable CMS SignedData
	// (empty, not ASN.1, another content type, truncated, missing
	// attributes).
	ProblemMalformed ProblemCode = "malformed-signature"
	// ProblemNoSigner: there is no SignerInfo, or no certificate in the
	// signature matches it.
	ProblemNoSigner ProblemCode = "no-signer"
	// ProblemDigestMismatch: the content is not the content that was
	// signed (the messageDigest attribute differs).
	ProblemDigestMismatch ProblemCode = "digest-mismatch"
	// ProblemBadSignature: the signature value does not verify with the
	// signer's public key.
	ProblemBadSignature ProblemCode = "bad-signature"
	// ProblemUnsupportedAlgorithm: a digest or signature algorithm the
	// package does not implement.
	ProblemUnsupportedAlgorithm ProblemCode = "unsupported-algorithm"
	// ProblemUntrustedChain: no chain from the signer to the given roots.
	ProblemUntrustedChain ProblemCode = "untrusted-chain"
	// ProblemExpired: a certificate of the chain is not valid at the
	// verification time (VerifyOptions.CurrentTime).
	ProblemExpired ProblemCode = "expired"
	// ProblemKeyUsage: the signer certificate may not sign e-mail: its Key
	// Usage lacks digitalSignature (and nonRepudiation), or its Extended
	// Key Usage lacks emailProtection.
	ProblemKeyUsage ProblemCode = "key-usage"
	// ProblemFromMismatch: the signer's e-mail address is not the From
	// address given in VerifyOptions.
	ProblemFromMismatch ProblemCode = "from-mismatch"
	// ProblemNotProvider: the signer chains to the trust anchors, but no
	// Authority (provider index, pinned provider certificates) was given
	// to establish that it is a PEC provider.
	ProblemNotProvider ProblemCode = "not-a-provider"
	// ProblemProviderProfile: the signer certificate lacks what PEC.md
	// §12.3 requires of a provider certificate (key usage, e-mail
	// address, no CA).
	ProblemProviderProfile ProblemCode = "provider-profile"
	// ProblemFutureSigningTime: the signingTime attribute is later than
	// the verification time plus MaxClockSkew.
	ProblemFutureSigningTime ProblemCode = "future-signing-time"
	// ProblemMixedLineEndings: the signed content has lines ending in CRLF
	// and lines ending in a bare LF. A stored copy converted to LF is
	// converted whole; a mix is content altered after signing.
	ProblemMixedLineEndings ProblemCode = "mixed-line-endings"
	// ProblemCanonicalized is informational: the content had bare LF line
	// endings, hashed as CRLF (RFC 5751 §3.1.1), as in stored copies of
	// messages. It is not a failure.
	ProblemCanonicalized ProblemCode = "lf-canonicalized"
)

// Problem is one finding of a verification: a code and a human-readable
// detail.
type Problem struct {
	Code   ProblemCode
	Detail string
}

// String returns the code followed by the detail.
func (p Problem) String() string {
	if p.Detail == "" {
		return string(p.Code)
	}
	return string(p.Code) + ": " + p.Detail
}

// Error returns the problem as an error message, so that a Problem can be
// returned or wrapped where an error is expected.
func (p Problem) Error() string { return "smime: " + p.String() }
