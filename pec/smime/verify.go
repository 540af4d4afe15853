package smime

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"hash"
	"io"
	"net/mail"
	"strings"
	"time"
)

// VerifyOptions configures Verify. A nil *VerifyOptions checks integrity
// only.
type VerifyOptions struct {
	// Roots are the trust anchors. When nil, no chain is built and
	// Verdict.Trusted stays nil.
	Roots *x509.CertPool
	// Intermediates are issuers to use besides those in the signature.
	Intermediates *x509.CertPool
	// CurrentTime is the time at which certificates must be valid. When
	// zero it is the signing time of the signature when present (a PEC
	// message is judged as of the moment it was certified), else
	// time.Now().
	CurrentTime time.Time
	// From is the address the signer's e-mail address must equal
	// (PEC.md §12.5 step 4), compared case-sensitively in the local part
	// and case-insensitively in the domain (RFC 5280 §7.5). A display name
	// and angle brackets are allowed. When "", the check is not made and
	// Verdict.FromMatches stays nil.
	From string
	// Authority, when set, is asked whether the signer may certify mail
	// from From (the provider index, PEC.md §12.5 step 3): Trusted is then
	// intact and authorized (and chained to Roots, when given too), and a
	// refusal is listed in Problems with its code.
	Authority Authority
}

// Verdict is the outcome of Verify: what was found and why it is or is not
// acceptable. Problems lists the reasons; informational notes
// (ProblemCanonicalized) do not affect OK.
type Verdict struct {
	Present      bool                  // signature bytes were supplied (even if unusable)
	Intact       bool                  // the content digest and the signature value check out
	Trusted      *bool                 // nil when neither Roots nor Authority were given; else chain, validity at CurrentTime and usage, and authorization
	FromMatches  *bool                 // nil when VerifyOptions.From is ""
	Hash         crypto.Hash           // digest algorithm of the signer
	Algorithm    string                // digest and key: "sha1-rsa", "sha256-rsa", "sha256-ecdsa"
	Legacy       bool                  // SHA-1 digest or signature: accepted, flagged
	BER          bool                  // the signature was not strict DER (BER, trailing bytes): accepted, flagged
	Signer       *x509.Certificate     // the signer certificate, when found
	SignerEmail  string                // first rfc822Name of Signer (else subject emailAddress), lower-cased
	SigningTime  time.Time             // signingTime attribute; zero when absent
	Certificates []*x509.Certificate   // the certificates carried by the signature
	Chains       [][]*x509.Certificate // the chains to Roots, when Trusted
	Problems     []Problem             // why not intact, trusted or matching, and notes
}

// OK reports whether the signature is intact and, where checked, trusted
// and matching the From address.
func (v *Verdict) OK() bool {
	return v.Intact && (v.Trusted == nil || *v.Trusted) && (v.FromMatches == nil || *v.FromMatches)
}

// HasProblem reports whether the verdict lists a problem with code c.
func (v *Verdict) HasProblem(c ProblemCode) bool {
	for _, p := range v.Problems {
		if p.Code == c {
			return true
		}
	}
	return false
}

func (v *Verdict) add(p *Problem) {
	if p != nil && !v.HasProblem(p.Code) {
		v.Problems = append(v.Problems, *p)
	}
}

// Verify checks a detached S/MIME signature (RFC 5751 §3.4.3) over
// content, the first body part of a multipart/signed exactly as received:
// its MIME header and body, without the CRLF that precedes the next
// boundary delimiter (RFC 2046 §5.1.1). Bare LF line endings, as in stored
// copies, are hashed as CRLF (noted as ProblemCanonicalized). content is
// read to its end in a stream: memory use does not depend on its size.
//
// signature is the decoded smime.p7s, DER or BER. Verify accepts what real
// PEC providers send: SHA-1 digests, RSA, BER, chains with the issuing CA,
// and certificates long expired (reported through Trusted and
// ProblemExpired, not through Intact).
//
// The error is non-nil only when reading content fails. A missing, unusable
// or failing signature is described by the Verdict.
func Verify(content io.Reader, signature []byte, opts *VerifyOptions) (*Verdict, error) {
	sig, prob := parseSignature(signature)
	// Hash the content with each digest the signers use; read it to the
	// end even when the signature is unusable.
	hashers := map[crypto.Hash]hash.Hash{}
	var writers []io.Writer
	if sig != nil {
		for _, h := range sig.hashes {
			if _, ok := hashers[h]; !ok {
				hashers[h] = h.New()
				writers = append(writers, hashers[h])
			}
		}
	}
	canon := &crlfWriter{w: io.Discard}
	if len(writers) == 1 {
		canon.w = writers[0]
	} else if len(writers) > 1 {
		canon.w = io.MultiWriter(writers...)
	}
	if content != nil {
		if _, err := io.Copy(canon, content); err != nil {
			return nil, err
		}
	}
	digests := map[crypto.Hash][]byte{}
	for h, hh := range hashers {
		digests[h] = hh.Sum(nil)
	}
	v := newVerdict(signature, sig, prob, digests, opts)
	if canon.changed {
		v.add(&Problem{Code: ProblemCanonicalized, Detail: "bare LF line endings hashed as CRLF"})
	}
	return v, nil
}

// VerifyAttached checks a CMS SignedData that encapsulates its content,
// such as a signed file (.p7m) made by SignAttached, and returns the
// content it carries (nil when none could be decoded). The content is not
// canonicalised. The Verdict says whether the content may be relied on.
func VerifyAttached(p7m []byte, opts *VerifyOptions) ([]byte, *Verdict) {
	sig, prob := parseSignature(p7m)
	var content []byte
	digests := map[crypto.Hash][]byte{}
	if sig != nil {
		content = sig.content()
		if content == nil && prob == nil {
			prob = &Problem{Code: ProblemMalformed, Detail: "no encapsulated content"}
		}
		for _, h := range sig.hashes {
			hh := h.New()
			hh.Write(content)
			digests[h] = hh.Sum(nil)
		}
	}
	return content, newVerdict(p7m, sig, prob, digests, opts)
}

// newVerdict completes a verification once the content digests are known.
func newVerdict(signature []byte, sig *cmsSignature, prob *Problem, digests map[crypto.Hash][]byte, opts *VerifyOptions) *Verdict {
	if opts == nil {
		opts = &VerifyOptions{}
	}
	v := &Verdict{Present: len(signature) > 0}
	if sig != nil {
		v.BER = !isDER(signature)
		v.Certificates = sig.certs
		v.Signer = sig.signer
		v.SigningTime = sig.signingTime
		v.Algorithm = sig.algorithm
		v.Legacy = sig.legacy
		if len(sig.hashes) > 0 {
			v.Hash = sig.hashes[0]
		}
		if v.Signer != nil {
			v.SignerEmail = signerEmail(v.Signer)
		}
	}
	if prob == nil {
		prob = sig.check(digests)
	}
	v.Intact = prob == nil
	v.add(prob)
	if opts.Roots != nil {
		v.checkTrust(opts)
	}
	if opts.Authority != nil {
		v.checkAuthority(opts)
	}
	if opts.From != "" {
		ok := v.Signer != nil && emailMatches(v.Signer, opts.From)
		v.FromMatches = &ok
		switch {
		case v.Signer == nil:
			v.add(&Problem{Code: ProblemFromMismatch, Detail: "no signer certificate to match From " + opts.From})
		case !ok:
			v.add(&Problem{Code: ProblemFromMismatch, Detail: "signer " + v.SignerEmail + ", From " + opts.From})
		}
	}
	return v
}

// checkTrust builds chains from the signer to opts.Roots at the
// verification time and checks the certificate may sign e-mail
// (RFC 8550 §4.4). Each failure is reported once: an expired chain is
// retried inside the signer's validity to tell whether it is otherwise
// trusted, and a usage failure is retried with any usage.
func (v *Verdict) checkTrust(opts *VerifyOptions) {
	trusted := false
	v.Trusted = &trusted
	if v.Signer == nil {
		v.add(&Problem{Code: ProblemUntrustedChain, Detail: "no signer certificate"})
		return
	}
	at := opts.CurrentTime
	if at.IsZero() {
		at = v.SigningTime
	}
	if at.IsZero() {
		at = time.Now()
	}
	inter := x509.NewCertPool()
	if opts.Intermediates != nil {
		inter = opts.Intermediates.Clone()
	}
	for _, c := range v.Certificates {
		inter.AddCert(c)
	}
	vo := x509.VerifyOptions{
		Roots:         opts.Roots,
		Intermediates: inter,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
	}
	ok := true
	if ku := v.Signer.KeyUsage; ku != 0 && ku&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		v.add(&Problem{Code: ProblemKeyUsage, Detail: "key usage lacks digitalSignature"})
		ok = false
	}
	if !emailProtection(v.Signer) {
		v.add(&Problem{Code: ProblemKeyUsage, Detail: "extended key usage lacks emailProtection"})
		ok = false
	}
	var chains [][]*x509.Certificate
	var err error
	for range 3 {
		chains, err = v.Signer.Verify(vo)
		var inv x509.CertificateInvalidError
		if !errors.As(err, &inv) {
			break
		}
		if inv.Reason == x509.Expired && !v.HasProblem(ProblemExpired) {
			v.add(&Problem{Code: ProblemExpired, Detail: inv.Error()})
			vo.CurrentTime = clamp(at, v.Signer.NotBefore, v.Signer.NotAfter)
			continue
		}
		if inv.Reason == x509.IncompatibleUsage && vo.KeyUsages[0] != x509.ExtKeyUsageAny {
			v.add(&Problem{Code: ProblemKeyUsage, Detail: inv.Error()})
			vo.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
			continue
		}
		if inv.Reason == x509.Expired {
			// An issuer not valid within the signer's validity: already
			// reported as expired.
			err = nil
			chains = nil
			ok = false
		}
		break
	}
	if err != nil {
		v.add(&Problem{Code: ProblemUntrustedChain, Detail: err.Error()})
		ok = false
	}
	if v.HasProblem(ProblemExpired) || v.HasProblem(ProblemKeyUsage) {
		ok = false
	}
	trusted = ok
	if trusted {
		v.Chains = chains
	}
}

func clamp(t, lo, hi time.Time) time.Time {
	if t.Before(lo) {
		return lo
	}
	if t.After(hi) {
		return hi
	}
	return t
}

// emailProtection reports whether c may protect e-mail by its Extended Key
// Usage: it has none, or it lists emailProtection or any.
func emailProtection(c *x509.Certificate) bool {
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
		return true
	}
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageEmailProtection || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// certEmails returns the rfc822Names of c, else the emailAddress
// attributes of its subject (RFC 8550 §3).
func certEmails(c *x509.Certificate) []string {
	if len(c.EmailAddresses) > 0 {
		return c.EmailAddresses
	}
	var out []string
	for _, n := range c.Subject.Names {
		if s, ok := n.Value.(string); ok && n.Type.Equal(oidEmailAddress) {
			out = append(out, s)
		}
	}
	return out
}

func signerEmail(c *x509.Certificate) string {
	if e := certEmails(c); len(e) > 0 {
		return strings.ToLower(e[0])
	}
	return ""
}

// emailMatches reports whether one of the addresses of c is from.
func emailMatches(c *x509.Certificate, from string) bool {
	from = strings.TrimSpace(from)
	if a, err := mail.ParseAddress(from); err == nil {
		from = a.Address
	}
	fl, fd, ok := splitAddress(from)
	if !ok {
		return false
	}
	for _, e := range certEmails(c) {
		l, d, ok := splitAddress(e)
		if ok && l == fl && strings.EqualFold(d, fd) {
			return true
		}
	}
	return false
}

func splitAddress(a string) (local, domain string, ok bool) {
	i := strings.LastIndexByte(a, '@')
	if i <= 0 || i == len(a)-1 {
		return "", "", false
	}
	return a[:i], a[i+1:], true
}
