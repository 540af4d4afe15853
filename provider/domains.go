package provider

import (
	"fmt"
	"slices"
	"strings"
)

// SetDomains replaces the mail domains the provider serves, while it runs:
// from the next SMTP transaction on, the incoming point takes mail for
// exactly these domains, the access point delivers to its own incoming
// point what is addressed to them, and new identifiers (Message-ID of the
// transport envelope, PEC.md §9) are made in the first of them. Messages
// already accepted are processed as they were accepted.
//
// The domains are those of the provider's entry in the index (PEC.md §12):
// other providers accept envelopes from a domain only once the index lists
// it under this provider, so publish the new entry too. The SMTP greeting
// keeps Config.Hostname (the first domain at New when it was empty).
//
// domains must not be empty, and each must be a domain name, listed once
// (compared without regard to case); otherwise SetDomains returns an error
// matching ErrConfig and changes nothing. It is safe for concurrent use.
func (p *Provider) SetDomains(domains []string) error {
	doms, err := checkDomains(domains)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.cfg.Domains = doms // replaced, never changed in place: readers keep the slice they got
	p.mu.Unlock()
	return nil
}

// Domains returns the domains the provider serves now, lower-cased, the
// first being the one of new identifiers.
func (p *Provider) Domains() []string {
	return slices.Clone(p.domains())
}

// domains returns the current list, not to be changed.
func (p *Provider) domains() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg.Domains
}

// checkDomains returns domains lower-cased, or why they are not a list of
// domains a provider can serve.
func checkDomains(domains []string) ([]string, error) {
	if len(domains) == 0 {
		return nil, fmt.Errorf("%w: no domain", ErrConfig)
	}
	out := make([]string, len(domains))
	for i, d := range domains {
		d = strings.ToLower(d)
		if !isDomainName(d) {
			return nil, fmt.Errorf("%w: %q is not a domain name", ErrConfig, d)
		}
		if slices.Contains(out[:i], d) {
			return nil, fmt.Errorf("%w: %s listed twice", ErrConfig, d)
		}
		out[i] = d
	}
	return out, nil
}

// isDomainName reports whether s, lower case, is a domain name: labels of
// letters, digits and hyphens (RFC 1035 §2.3.1), not starting or ending
// with a hyphen, at most 253 characters in all.
func isDomainName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
