package smime

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"hash"
	"io"
	"strings"
	"sync"
	"time"
)

// MaxClockSkew is how far in the future of the verification time a
// signature's signingTime may lie before it is refused: clocks of
// providers and verifiers differ by seconds, not by minutes. A later
// signing time is the signer's own claim and is never trusted
// (ProblemFutureSigningTime).
const MaxClockSkew = 5 * time.Minute

// VerifyOptions configures Verify. A nil *VerifyOptions checks integrity
// only: the Verdict then says "intact, trust not checked" and OK is false.
type VerifyOptions struct {
	// Roots are the trust anchors the signer's chain is built to
	// (Verdict.Chained). A chain alone says that a CA vouches for the
	// signer, not that the signer is a PEC provider: it never makes
	// Verdict.Trusted true.
	Roots *x509.CertPool
	// Intermediates are issuers to use besides those in the signature.
	Intermediates *x509.CertPool
	// CurrentTime is the time of the verification. When zero it is
	// time.Now(): a live verification (an incoming point, a client
	// fetching its mailbox) judges certificates as they are now.
	CurrentTime time.Time
	// AsOfSigningTime judges certificate validity at the signature's
	// signingTime instead of CurrentTime, as for an archived message whose
	// certificates have expired since it was certified. The Verdict says
	// so (Verdict.AsOfSigningTime). A signingTime later than CurrentTime
	// plus MaxClockSkew is never used and never trusted.
	AsOfSigningTime bool
	// From is the address of the message's From field, which must equal
	// the signer's e-mail address (PEC.md §12.5 step 4): compared
	// case-sensitively in the local part and case-insensitively in the
	// domain (RFC 5280 §7.5). A display name and angle brackets are
	// allowed. When "", the check is not made, Verdict.FromMatches stays
	// nil and OK is false.
	From string
	// Authority decides whether the signer is a PEC provider that may
	// certify mail from From: the provider index (PEC.md §11.2, §12.5
	// step 3; package pec/index), or a set of provider certificates the
	// caller pinned (index.New). It is the only source of
	// Verdict.Trusted.
	Authority Authority
}

// Verdict is the outcome of Verify: what was found and why it is or is not
// acceptable. Problems lists the reasons; informational notes
// (ProblemCanonicalized) do not affect OK.
type Verdict struct {
	Present         bool                  // signature bytes were supplied (even if unusable)
	Intact          bool                  // the content digest and the signature value check out
	Chained         *bool                 // nil without VerifyOptions.Roots; else the signer chains to them, valid at At, with e-mail usage
	Trusted         *bool                 // nil without VerifyOptions.Roots and Authority; else the signer is a PEC provider (see OK)
	FromMatches     *bool                 // nil when VerifyOptions.From is ""
	At              time.Time             // the time certificates were judged at
	AsOfSigningTime bool                  // At is the signing time (VerifyOptions.AsOfSigningTime), not the time of the verification
	Hash            crypto.Hash           // digest algorithm of the signer
	Algorithm       string                // digest and key: "sha1-rsa", "sha256-rsa", "sha256-ecdsa"
	Legacy          bool                  // SHA-1 digest or signature: accepted, flagged
	BER             bool                  // the signature was not strict DER (BER, trailing bytes): accepted, flagged
	Signer          *x509.Certificate     // the signer certificate, when found (parsed once per process and shared by verdicts: do not modify)
	SignerEmail     string                // first rfc822Name of Signer (else subject emailAddress), lower-cased
	SigningTime     time.Time             // signingTime attribute; zero when absent
	Certificates    []*x509.Certificate   // the certificates carried by the signature (shared likewise)
	Chains          [][]*x509.Certificate // the chains to Roots, when Chained
	Problems        []Problem             // why not intact, trusted or matching, and notes
}

// OK reports whether the signature may be relied on for PEC: intact,
// made by a PEC provider (Trusted: authorized by VerifyOptions.Authority,
// with a certificate of the provider profile, valid at At, and chained to
// Roots when Roots were given), and the signer is the From address. A
// verdict whose trust or sender was not checked is never OK; Summary says
// what was checked.
func (v *Verdict) OK() bool {
	return v.Intact && v.Trusted != nil && *v.Trusted && v.FromMatches != nil && *v.FromMatches
}

// Summary describes the verdict in a few words, saying what was not
// checked: "trusted", "intact, trust not checked", "intact, chained to the
// anchors, signer not established as a PEC provider", "intact, not
// trusted", "intact, signer is not the sender", "not intact".
func (v *Verdict) Summary() string {
	switch {
	case !v.Intact:
		return "not intact"
	case v.Trusted == nil:
		return "intact, trust not checked"
	case !*v.Trusted && v.Chained != nil && *v.Chained && v.HasProblem(ProblemNotProvider):
		return "intact, chained to the anchors, signer not established as a PEC provider"
	case !*v.Trusted:
		return "intact, not trusted"
	case v.FromMatches == nil:
		return "intact, trusted signer, sender not checked"
	case !*v.FromMatches:
		return "intact, trusted signer, signer is not the sender"
	}
	return "trusted"
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
// signature is the decoded smime.p7s, DER or BER; Verify keeps no
// reference to it once it returns (the caller may reuse it). Verify accepts what real
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
		buf := copyBufs.Get().(*[]byte)
		_, err := io.CopyBuffer(canon, content, *buf)
		copyBufs.Put(buf)
		canon.release()
		if err != nil {
			return nil, err
		}
	}
	digests := map[crypto.Hash][]byte{}
	for h, hh := range hashers {
		digests[h] = hh.Sum(nil)
	}
	if prob == nil && canon.changed && canon.crlf {
		// Some lines end in CRLF and some in a bare LF: not a stored copy
		// converted whole (all LF), but content altered after signing —
		// a CR removed from any line would otherwise go unseen.
		prob = &Problem{Code: ProblemMixedLineEndings, Detail: "content mixes CRLF and bare LF line endings: not the content as signed"}
	}
	v := newVerdict(signature, sig, prob, digests, opts)
	if canon.changed {
		v.add(&Problem{Code: ProblemCanonicalized, Detail: "bare LF line endings hashed as CRLF"})
	}
	return v, nil
}

// copyBufs are the buffers Verify reads content through, reused from one
// verification to the next.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// VerifyAttached checks a CMS SignedData that encapsulates its content,
// such as a signed file (.p7m) made by SignAttached, and returns the
// content it carries (nil when none could be decoded). The content is not
// canonicalised. The Verdict says whether the content may be relied on.
func VerifyAttached(p7m []byte, opts *VerifyOptions) ([]byte, *Verdict) {
	sig, prob := parseSignature(p7m)
	var content []byte
	digests := map[crypto.Hash][]byte{}
	if sig != nil {
		// The content is the caller's from here on: a copy, not a
		// window on p7m.
		content = bytes.Clone(sig.content())
		if content == nil && prob == nil {
			prob = &Problem{Code: ProblemMalformed, Detail: "no encapsulated content"}
		}
		for _, h := range sig.hashes {
			if _, done := digests[h]; done {
				continue // signers sharing a digest algorithm share its hash
			}
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
		v.BER = sig.ber
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
	v.judgeTime(opts)
	if opts.Roots != nil {
		v.checkChain(opts)
	}
	switch {
	case opts.Authority != nil:
		v.checkAuthority(opts)
	case opts.Roots != nil:
		// A chain to the anchors is all that was asked: it does not make
		// the signer a PEC provider (PEC.md §11.2, §12.5 step 3).
		f := false
		v.Trusted = &f
		v.add(&Problem{Code: ProblemNotProvider, Detail: "no provider index or pinned provider certificates to establish the signer as a PEC provider"})
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

// judgeTime sets At, the time certificates are judged at: the time of the
// verification, or the signing time when opts.AsOfSigningTime asks for it
// and the signing time is not in the future. A signing time later than the
// verification time plus MaxClockSkew is reported: it is the signer's
// claim, and trusting it would let a certificate not yet valid, or one
// revoked and backdated, through.
func (v *Verdict) judgeTime(opts *VerifyOptions) {
	now := opts.CurrentTime
	if now.IsZero() {
		now = time.Now()
	}
	v.At = now
	if v.SigningTime.IsZero() {
		return
	}
	if v.SigningTime.After(now.Add(MaxClockSkew)) {
		v.add(&Problem{Code: ProblemFutureSigningTime, Detail: "signing time " + v.SigningTime.UTC().Format(time.RFC3339) + " is after the verification time " + now.UTC().Format(time.RFC3339)})
		return
	}
	if opts.AsOfSigningTime {
		v.At = v.SigningTime
		v.AsOfSigningTime = true
	}
}

// checkChain builds chains from the signer to opts.Roots at v.At and
// checks the certificate may sign e-mail (RFC 8550 §4.4): Chained. Each failure is reported once: an expired chain is
// retried inside the signer's validity to tell whether it is otherwise
// trusted, and a usage failure is retried with any usage.
func (v *Verdict) checkChain(opts *VerifyOptions) {
	chained := false
	v.Chained = &chained
	if v.Signer == nil {
		v.add(&Problem{Code: ProblemUntrustedChain, Detail: "no signer certificate"})
		return
	}
	at := v.At
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
	if v.HasProblem(ProblemExpired) || v.HasProblem(ProblemKeyUsage) || v.HasProblem(ProblemFutureSigningTime) {
		ok = false
	}
	chained = ok
	if chained {
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
	from = bareAddress(from)
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
