package smime

import (
	"crypto/x509"
	"errors"
	"net/mail"
	"strings"
	"time"
)

// Authority decides whether a signer certificate may certify mail from an
// address: the provider index of PEC.md §13 answers it (§11.2 checks 2
// and 5, §12.5 step 3). Set it in VerifyOptions.Authority.
type Authority interface {
	// Authorize returns nil when signer is listed, valid at at, and
	// belongs to a provider that manages the domain of from. from is the
	// sender address (a bare addr-spec) or "" when there is none to match;
	// then only the listing and the validity are checked. Otherwise the
	// error says why; when it implements interface{ ProblemCode()
	// ProblemCode } (found with errors.As), that code is reported in the
	// Verdict, else ProblemUnauthorized.
	Authorize(signer *x509.Certificate, from string, at time.Time) error
}

// Problem codes reported when an Authority refuses a signer. An expired
// signer is reported as ProblemExpired.
const (
	// ProblemUnlisted: the signer certificate is not in the index.
	ProblemUnlisted ProblemCode = "unlisted-signer"
	// ProblemDomainNotManaged: the signer's provider does not manage the
	// domain of the From address.
	ProblemDomainNotManaged ProblemCode = "domain-not-managed"
	// ProblemUnauthorized: the Authority refused the signer for another
	// reason (no index loaded, an error of its own).
	ProblemUnauthorized ProblemCode = "unauthorized"
)

// ProblemCode returns p.Code, so that a Problem returned by an Authority
// keeps its code.
func (p Problem) ProblemCode() ProblemCode { return p.Code }

// checkAuthority decides Trusted: the signature is intact, the signer
// certificate has the provider profile (PEC.md §12.3), its signing time is
// not in the future, it chains to the roots when Roots were given, and the
// Authority lists it as a provider that may certify mail from From, valid
// at v.At.
func (v *Verdict) checkAuthority(opts *VerifyOptions) {
	ok := v.Intact && (v.Chained == nil || *v.Chained) && !v.HasProblem(ProblemFutureSigningTime)
	v.Trusted = &ok
	if v.Signer == nil {
		v.add(&Problem{Code: ProblemUnlisted, Detail: "no signer certificate"})
		ok = false
		return
	}
	if p := providerProfile(v.Signer); p != nil {
		v.add(p)
		ok = false
	}
	err := opts.Authority.Authorize(v.Signer, bareAddress(opts.From), v.At)
	if err == nil {
		return
	}
	ok = false
	code := ProblemUnauthorized
	var c interface{ ProblemCode() ProblemCode }
	if errors.As(err, &c) {
		code = c.ProblemCode()
	}
	v.add(&Problem{Code: code, Detail: err.Error()})
}

// providerProfile checks what PEC.md §12.3 requires of a provider
// certificate and real providers' certificates all have: a Key Usage with
// digitalSignature, an Extended Key Usage (when present) allowing
// emailProtection, an rfc822Name in subjectAltName, and no CA basic
// constraint. An ordinary certificate that merely chains to the same root
// may pass it: the listing in the Authority is what makes a provider.
func providerProfile(c *x509.Certificate) *Problem {
	var why string
	switch {
	case c.KeyUsage == 0:
		why = "no key usage"
	case c.KeyUsage&x509.KeyUsageDigitalSignature == 0:
		why = "key usage lacks digitalSignature"
	case !emailProtection(c):
		why = "extended key usage lacks emailProtection"
	case len(c.EmailAddresses) == 0:
		why = "no rfc822Name in subjectAltName"
	case c.BasicConstraintsValid && c.IsCA:
		// QUIRK: DigitPA-era provider certificates (Aruba, 2010s) carry
		// basicConstraints CA:FALSE, which §12.3 forbids; only CA:TRUE
		// is refused.
		why = "a CA certificate"
	default:
		return nil
	}
	return &Problem{Code: ProblemProviderProfile, Detail: "not a provider certificate (PEC.md §12.3): " + why}
}

// bareAddress returns the addr-spec of from ("Name <a@b>" → "a@b").
func bareAddress(from string) string {
	from = strings.TrimSpace(from)
	if plainAddress(from) {
		return from // what ParseAddress would give, or leave
	}
	if a, err := mail.ParseAddress(from); err == nil {
		return a.Address
	}
	return from
}

// plainAddress reports whether s holds only the characters of a
// dot-atom addr-spec (RFC 5322 §3.2.3) and '@': no display name, angle
// bracket, quote, comment or white space. mail.ParseAddress gives such
// an s back as its Address when it parses it, and an error otherwise, so
// either way the address is s.
func plainAddress(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-/=?^_`{|}~.@", c) >= 0 {
			continue
		}
		return false
	}
	return s != ""
}
