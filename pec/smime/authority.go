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

// checkAuthority asks opts.Authority about the signer and folds the
// answer into Trusted: intact and authorized, and chained to the roots
// when Roots were given too.
func (v *Verdict) checkAuthority(opts *VerifyOptions) {
	ok := v.Intact && (v.Trusted == nil || *v.Trusted)
	v.Trusted = &ok
	defer func() {
		if !ok {
			v.Chains = nil // Chains are given only when Trusted
		}
	}()
	if v.Signer == nil {
		v.add(&Problem{Code: ProblemUnlisted, Detail: "no signer certificate"})
		ok = false
		return
	}
	err := opts.Authority.Authorize(v.Signer, bareAddress(opts.From), v.verificationTime(opts))
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

// verificationTime is the time certificates must be valid at: CurrentTime,
// else the signing time, else now.
func (v *Verdict) verificationTime(opts *VerifyOptions) time.Time {
	switch {
	case !opts.CurrentTime.IsZero():
		return opts.CurrentTime
	case !v.SigningTime.IsZero():
		return v.SigningTime
	}
	return time.Now()
}

// bareAddress returns the addr-spec of from ("Name <a@b>" → "a@b").
func bareAddress(from string) string {
	from = strings.TrimSpace(from)
	if a, err := mail.ParseAddress(from); err == nil {
		return a.Address
	}
	return from
}
