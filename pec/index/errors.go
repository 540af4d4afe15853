package index

import (
	"errors"
	"fmt"
	"time"

	"github.com/pecsdk/pec/pec/smime"
)

// Sentinel errors of the package, matched with errors.Is.
var (
	// ErrSyntax reports LDIF that does not follow RFC 2849; the error is a
	// *SyntaxError giving the line.
	ErrSyntax = errors.New("index: LDIF syntax error")
	// ErrUnsupported reports valid LDIF the package does not apply: values
	// by URL (":<"), and moddn/modrdn records.
	ErrUnsupported = errors.New("index: unsupported LDIF")
	// ErrBadEntry reports a provider entry that breaks the schema of
	// PEC.md §13.3: a missing or repeated attribute, a domain or an
	// address that is not a dot-atom, a hash that is not hexadecimal.
	ErrBadEntry = errors.New("index: invalid provider entry")
	// ErrBadCertificate reports a providerCertificate value that is not a
	// DER X.509 certificate.
	ErrBadCertificate = errors.New("index: providerCertificate is not a DER X.509 certificate")
	// ErrConflict reports two entries with one DN, or one domain managed
	// by two providers.
	ErrConflict = errors.New("index: conflicting entries")
	// ErrUntrustedLDIF reports a signed LDIF refused whole, none of it
	// used: its signature is not intact or does not chain to the anchors,
	// or (matching ErrPublisher or ErrRollback as well) its signer is not
	// the pinned publisher, or it is older than the index in service. The
	// error is a *SignedLDIFError.
	ErrUntrustedLDIF = errors.New("index: signed LDIF refused")
	// ErrPublisher reports a signed LDIF whose signer chains to the
	// anchors but is not the publisher pinned (Publisher), or read with no
	// publisher pinned and AnySignerUnderAnchors not set. It matches
	// ErrUntrustedLDIF too.
	ErrPublisher = errors.New("index: signed LDIF not signed by the pinned publisher")
	// ErrRollback reports a signed LDIF signed before the index in service
	// (by a Mirror) or before SignedOptions.MinSigningTime: an older index
	// replayed, which would bring back domains and certificates removed
	// since. It matches ErrUntrustedLDIF too.
	ErrRollback = errors.New("index: signed LDIF older than the index in service")
	// ErrDirectory reports a failure to read the LDAP directory.
	ErrDirectory = errors.New("index: directory unavailable")

	// ErrUnlisted reports a signer certificate that is not in the index.
	ErrUnlisted = errors.New("index: signer certificate not listed")
	// ErrExpired reports a listed certificate used outside its validity.
	ErrExpired = errors.New("index: signer certificate not valid at the verification time")
	// ErrDomainNotManaged reports a sender domain that the signer's
	// provider does not manage.
	ErrDomainNotManaged = errors.New("index: sender domain not managed by the signer's provider")
	// ErrNoSnapshot reports a Mirror that has not loaded the index yet.
	ErrNoSnapshot = errors.New("index: no index loaded")
)

// SyntaxError is an LDIF syntax error at a line (counted from 1).
type SyntaxError struct {
	Line int
	Err  error // what is wrong; wraps ErrSyntax or ErrUnsupported
}

// Error names the line and what is wrong there.
func (e *SyntaxError) Error() string { return fmt.Sprintf("index: LDIF line %d: %v", e.Line, e.Err) }

// Unwrap returns e.Err.
func (e *SyntaxError) Unwrap() error { return e.Err }

func syntaxErr(line int, format string, args ...any) error {
	return &SyntaxError{Line: line, Err: fmt.Errorf("%w: "+format, append([]any{ErrSyntax}, args...)...)}
}

// EntryError is an entry that cannot be used: its DN, the line of its dn
// in an LDIF (0 for entries from LDAP or Go values), the attribute at
// fault, and the cause (wrapping ErrBadEntry, ErrBadCertificate or
// ErrConflict).
type EntryError struct {
	DN   string
	Line int
	Attr string
	Err  error
}

// Error names the entry, its line, the attribute and the cause.
func (e *EntryError) Error() string {
	s := "index: entry " + fmt.Sprintf("%q", e.DN)
	if e.Line > 0 {
		s += fmt.Sprintf(" (line %d)", e.Line)
	}
	if e.Attr != "" {
		s += ": " + e.Attr
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns e.Err.
func (e *EntryError) Unwrap() error { return e.Err }

// SignedLDIFError is a signed LDIF refused whole: the reason (Err), the
// signer and the signing time when known, and the problems of the
// signature. It matches Err and ErrUntrustedLDIF with errors.Is.
type SignedLDIFError struct {
	Err         error           // ErrUntrustedLDIF, ErrPublisher or ErrRollback
	Signer      string          // the signer: its e-mail address, else its subject; "" when unknown
	SigningTime time.Time       // the signingTime of the refused LDIF; zero when absent or unknown
	Problems    []smime.Problem // what is wrong with the signature, for ErrUntrustedLDIF
	Detail      string          // the reason in words
}

// Error gives the refusal, the signer and the reason.
func (e *SignedLDIFError) Error() string {
	s := ErrUntrustedLDIF.Error()
	if e.Err != nil && e.Err != ErrUntrustedLDIF {
		s = e.Err.Error()
	}
	if e.Signer != "" {
		s += ": signer " + e.Signer
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns e.Err and ErrUntrustedLDIF.
func (e *SignedLDIFError) Unwrap() []error {
	if e.Err == nil || e.Err == ErrUntrustedLDIF {
		return []error{ErrUntrustedLDIF}
	}
	return []error{e.Err, ErrUntrustedLDIF}
}

// TrustError is a refusal of Authorize: why the signer may not certify
// mail from the sender. It matches ErrUnlisted, ErrExpired,
// ErrDomainNotManaged or ErrNoSnapshot with errors.Is, and carries the
// smime.ProblemCode reported in a Verdict.
type TrustError struct {
	Err      error  // the sentinel
	Signer   string // the signer: its e-mail address, else its subject
	Provider string // the provider found for the signer, if any
	Domain   string // the sender domain, for ErrDomainNotManaged
	Detail   string // the reason in words
}

// Error gives the refusal with the signer, the provider and the reason.
func (e *TrustError) Error() string {
	s := e.Err.Error()
	if e.Signer != "" {
		s += ": " + e.Signer
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns e.Err.
func (e *TrustError) Unwrap() error { return e.Err }

// ProblemCode is the code of the refusal in a smime.Verdict.
func (e *TrustError) ProblemCode() smime.ProblemCode {
	switch e.Err {
	case ErrUnlisted:
		return smime.ProblemUnlisted
	case ErrExpired:
		return smime.ProblemExpired
	case ErrDomainNotManaged:
		return smime.ProblemDomainNotManaged
	}
	return smime.ProblemUnauthorized
}
