package index

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Snapshot is an immutable, validated copy of the index, with the lookup
// tables of PEC.md §13.5. It is what every source produces and what a
// Mirror serves; it is safe for concurrent use.
type Snapshot struct {
	providers []*Provider            // main entries first, each group by DN
	domains   map[string]*Provider   // lower-case domain → entry
	hashes    map[string][]*Provider // decoded providerCertificateHash → entries
	names     map[string]*Provider   // lower-case providerName → main entry

	signingTime time.Time // the signing time of a signed LDIF; zero otherwise
	publisher   string    // the signer of a signed LDIF, for messages

	poolOnce sync.Once
	pool     *x509.CertPool
}

// SigningTime returns the signing time of the signed LDIF the snapshot
// was read from (ParseSignedLDIF, File), zero for other sources. A Mirror
// refuses a new snapshot signed before the one it serves.
func (s *Snapshot) SigningTime() time.Time { return s.signingTime }

var _ Index = (*Snapshot)(nil)

// New validates providers and builds a snapshot of them: the in-memory
// index, for tests and demonstration networks. The values are copied.
// Errors are *EntryError values: a missing name, service address, domain
// or certificate; a domain or address that is not a dot-atom; a hash
// that is not hexadecimal; two entries with one DN, or one domain claimed
// by two providers.
func New(providers []Provider) (*Snapshot, error) {
	ps := make([]*Provider, 0, len(providers))
	for i := range providers {
		p := providers[i]
		if err := normalize(&p, 0); err != nil {
			return nil, err
		}
		ps = append(ps, &p)
	}
	return build(ps, nil)
}

// build indexes validated entries. lines gives the LDIF line of each
// entry, for errors; nil when there are none.
func build(ps []*Provider, lines map[*Provider]int) (*Snapshot, error) {
	keys := make(map[*Provider]string, len(ps))
	for _, p := range ps {
		keys[p] = normalizeDN(p.DN)
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if (ps[i].Unit == "") != (ps[j].Unit == "") {
			return ps[i].Unit == ""
		}
		return keys[ps[i]] < keys[ps[j]]
	})
	s := &Snapshot{
		providers: ps,
		domains:   make(map[string]*Provider),
		hashes:    make(map[string][]*Provider),
		names:     make(map[string]*Provider),
	}
	dns := make(map[string]bool, len(ps))
	for _, p := range ps {
		conflict := func(attr, format string, args ...any) error {
			return &EntryError{DN: p.DN, Line: lines[p], Attr: attr, Err: fmt.Errorf("%w: "+format, append([]any{ErrConflict}, args...)...)}
		}
		key := keys[p]
		if dns[key] {
			return nil, conflict("", "a second entry with this DN")
		}
		dns[key] = true
		if p.Unit == "" {
			n := strings.ToLower(p.Name)
			if _, dup := s.names[n]; dup {
				return nil, conflict("providerName", "a second main entry for %q", p.Name)
			}
			s.names[n] = p
		}
		for _, d := range p.Domains {
			if q, dup := s.domains[d]; dup {
				if strings.EqualFold(q.Name, p.Name) {
					continue // listed again by another environment of the same provider
				}
				return nil, conflict("managedDomains", "%s is managed by %q too", d, q.Name)
			}
			s.domains[d] = p
		}
		for _, h := range p.Hashes {
			k, _ := hex.DecodeString(h)
			s.hashes[string(k)] = append(s.hashes[string(k)], p)
		}
	}
	for _, p := range ps {
		if p.Unit != "" {
			if _, ok := s.names[strings.ToLower(p.Name)]; !ok {
				return nil, &EntryError{DN: p.DN, Line: lines[p], Attr: "providerName",
					Err: fmt.Errorf("%w: secondary environment of %q, which has no main entry", ErrConflict, p.Name)}
			}
		}
	}
	return s, nil
}

// Domain returns the entry managing domain (PEC.md §13.5, §11.1 check 10).
// A trailing dot is ignored.
func (s *Snapshot) Domain(domain string) (*Provider, bool) {
	domain = strings.TrimSuffix(domain, ".")
	p, ok := s.domains[domain]
	if !ok {
		p, ok = s.domains[strings.ToLower(domain)]
	}
	return p, ok
}

// Signer returns the entry listing cert (PEC.md §11.2 check 2): by the
// SHA-1 of its DER, else its SHA-256, in providerCertificateHash, then by
// comparing the DER with the entry's certificates.
func (s *Snapshot) Signer(cert *x509.Certificate) (*Provider, bool) {
	if cert == nil {
		return nil, false
	}
	h1 := sha1.Sum(cert.Raw)
	if p := s.match(string(h1[:]), cert); p != nil {
		return p, true
	}
	h2 := sha256.Sum256(cert.Raw)
	if p := s.match(string(h2[:]), cert); p != nil {
		return p, true
	}
	return nil, false
}

func (s *Snapshot) match(hash string, cert *x509.Certificate) *Provider {
	for _, p := range s.hashes[hash] {
		for _, c := range p.Certificates {
			if c.Equal(cert) {
				return p
			}
		}
	}
	return nil
}

// Provider returns the main entry of the provider named name.
func (s *Snapshot) Provider(name string) (*Provider, bool) {
	p, ok := s.names[strings.ToLower(name)]
	return p, ok
}

// Providers returns every entry: main entries first, ordered by DN, then
// the secondary environments. The slice is a copy; the entries are shared.
func (s *Snapshot) Providers() []*Provider {
	return append([]*Provider(nil), s.providers...)
}

// Len returns the number of entries.
func (s *Snapshot) Len() int { return len(s.providers) }

// Pool returns a pool of every listed certificate, built on first use.
func (s *Snapshot) Pool() *x509.CertPool {
	s.poolOnce.Do(func() {
		s.pool = x509.NewCertPool()
		for _, p := range s.providers {
			for _, c := range p.Certificates {
				s.pool.AddCert(c)
			}
		}
	})
	return s.pool
}

// Authorize implements smime.Authority (PEC.md §12.5 steps 2–4, §11.2
// checks 2 and 5): signer must be listed, valid at at (now when zero), and
// when from is not "", the domain of from must be managed by the signer's
// entry or another entry of the same provider (a secondary environment of
// §13.2). A refusal is a *TrustError.
func (s *Snapshot) Authorize(signer *x509.Certificate, from string, at time.Time) error {
	if signer == nil {
		return &TrustError{Err: ErrUnlisted, Detail: "no signer certificate"}
	}
	p, ok := s.Signer(signer)
	if !ok {
		return &TrustError{Err: ErrUnlisted, Signer: certName(signer), Detail: "hash " + hashHex(sha1Of(signer)) + " is in no providerCertificateHash"}
	}
	if at.IsZero() {
		at = time.Now()
	}
	if at.Before(signer.NotBefore) || at.After(signer.NotAfter) {
		return &TrustError{Err: ErrExpired, Signer: certName(signer), Provider: p.Name,
			Detail: fmt.Sprintf("valid %s to %s, verified at %s", signer.NotBefore.UTC().Format(time.RFC3339), signer.NotAfter.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))}
	}
	if from == "" {
		return nil
	}
	domain := from
	if i := strings.LastIndexByte(from, '@'); i >= 0 {
		domain = from[i+1:]
	}
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	q, ok := s.domains[domain]
	if ok && strings.EqualFold(q.Name, p.Name) {
		return nil
	}
	detail := fmt.Sprintf("%q does not manage %s", p.Name, domain)
	if ok {
		detail += fmt.Sprintf(" (managed by %q)", q.Name)
	} else {
		detail += " (not a PEC domain)"
	}
	return &TrustError{Err: ErrDomainNotManaged, Signer: certName(signer), Provider: p.Name, Domain: domain, Detail: detail}
}

func sha1Of(c *x509.Certificate) []byte {
	h := sha1.Sum(c.Raw)
	return h[:]
}

// certName names a certificate in messages: its first e-mail address,
// else its subject.
func certName(c *x509.Certificate) string {
	if len(c.EmailAddresses) > 0 {
		return c.EmailAddresses[0]
	}
	return c.Subject.String()
}
