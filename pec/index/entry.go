package index

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Attribute names of the schema (PEC.md §13.3), lower-cased as compared.
const (
	attrHash        = "providercertificatehash"
	attrCertificate = "providercertificate"
	attrName        = "providername"
	attrMailReceipt = "mailreceipt"
	attrDomains     = "manageddomains"
	attrLDIFURL     = "ldiflocationurl"
	attrUnit        = "providerunit"
	attrDescription = "description"
	attrObjectClass = "objectclass"
)

// entry is a directory entry as read from LDIF or LDAP: its DN and its
// attribute values by lower-cased name (options such as ";binary"
// dropped).
type entry struct {
	dn    string
	line  int
	attrs map[string][][]byte
	order []string // attribute names in first-seen order, for writing
}

func newEntry(dn string, line int) *entry {
	return &entry{dn: dn, line: line, attrs: map[string][][]byte{}}
}

func (e *entry) add(name string, v []byte) {
	name = attrBase(name)
	if _, ok := e.attrs[name]; !ok {
		e.order = append(e.order, name)
	}
	e.attrs[name] = append(e.attrs[name], v)
}

// attrBase is the lower-cased attribute type of an attribute description
// (RFC 4512 §2.5): "providerCertificate;binary" → "providercertificate".
func attrBase(name string) string {
	if i := strings.IndexByte(name, ';'); i >= 0 {
		name = name[:i]
	}
	return strings.ToLower(name)
}

// isProvider reports whether e is of the object class provider (or, from
// a dump that omits object classes, carries a providerName).
func (e *entry) isProvider() bool {
	for _, v := range e.attrs[attrObjectClass] {
		if strings.EqualFold(strings.TrimSpace(string(v)), "provider") {
			return true
		}
	}
	return len(e.attrs[attrName]) > 0
}

// provider converts a provider entry into a validated Provider.
func (e *entry) provider() (*Provider, error) {
	bad := func(attr string, err error) error {
		return &EntryError{DN: e.dn, Line: e.line, Attr: attr, Err: err}
	}
	single := func(attr, name string, required bool) (string, error) {
		vs := e.attrs[attr]
		switch {
		case len(vs) == 0 && required:
			return "", bad(name, fmt.Errorf("%w: missing", ErrBadEntry))
		case len(vs) > 1:
			return "", bad(name, fmt.Errorf("%w: %d values of a single-valued attribute", ErrBadEntry, len(vs)))
		case len(vs) == 0:
			return "", nil
		}
		return strings.TrimSpace(string(vs[0])), nil
	}
	p := &Provider{DN: e.dn}
	var err error
	if p.Name, err = single(attrName, "providerName", true); err != nil {
		return nil, err
	}
	if p.Unit, err = single(attrUnit, "providerUnit", false); err != nil {
		return nil, err
	}
	if p.MailReceipt, err = single(attrMailReceipt, "mailReceipt", true); err != nil {
		return nil, err
	}
	if p.LDIFLocationURL, err = single(attrLDIFURL, "LDIFLocationURL", false); err != nil {
		return nil, err
	}
	if ds := e.attrs[attrDescription]; len(ds) > 0 {
		p.Description = string(ds[0]) // multi-valued in the core schema: the first
	}
	for _, d := range e.attrs[attrDomains] {
		p.Domains = append(p.Domains, strings.TrimSpace(string(d)))
	}
	for _, h := range e.attrs[attrHash] {
		p.Hashes = append(p.Hashes, strings.TrimSpace(string(h)))
	}
	if len(p.Hashes) == 0 {
		return nil, bad("providerCertificateHash", fmt.Errorf("%w: missing", ErrBadEntry))
	}
	for i, der := range e.attrs[attrCertificate] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, bad("providerCertificate", fmt.Errorf("%w: value %d: %v", ErrBadCertificate, i+1, err))
		}
		p.Certificates = append(p.Certificates, c)
	}
	if err := normalize(p, e.line); err != nil {
		return nil, err
	}
	return p, nil
}

// normalize checks p against the schema of PEC.md §13.3 and lower-cases
// its domains and hashes; it fills the DN and the hashes when absent.
func normalize(p *Provider, line int) error {
	p.Name = strings.TrimSpace(p.Name)
	p.Unit = strings.TrimSpace(p.Unit)
	p.DN = canonicalDN(p.DN)
	if p.DN == "" {
		p.DN = "providerName=" + escapeDN(p.Name) + "," + BaseDN
		if p.Unit != "" {
			p.DN = "providerUnit=" + escapeDN(p.Unit) + "," + p.DN
		}
	}
	bad := func(attr, format string, args ...any) error {
		return &EntryError{DN: p.DN, Line: line, Attr: attr, Err: fmt.Errorf("%w: "+format, append([]any{ErrBadEntry}, args...)...)}
	}
	if p.Name == "" {
		return bad("providerName", "missing")
	}
	// The entry's place in the tree must be the provider it names (PEC.md
	// §13.2): trust goes by providerName, so an entry under one provider
	// claiming another's name would take over that provider's domains.
	want := "providerName=" + escapeDN(p.Name)
	if p.Unit != "" {
		want = "providerUnit=" + escapeDN(p.Unit) + "," + want
	}
	if want = normalizeDN(want) + ","; !strings.HasPrefix(normalizeDN(p.DN)+",", want) {
		return bad("providerName", "%q (unit %q) is not the provider its DN names", p.Name, p.Unit)
	}
	p.MailReceipt = strings.TrimSpace(p.MailReceipt)
	if !isAddrSpec(p.MailReceipt) {
		return bad("mailReceipt", "%q is not a dot-atom address", p.MailReceipt)
	}
	if len(p.Domains) == 0 {
		return bad("managedDomains", "missing")
	}
	ds := make([]string, 0, len(p.Domains))
	seen := map[string]bool{}
	for _, d := range p.Domains {
		d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
		if !isDomain(d) {
			return bad("managedDomains", "%q is not a domain", d)
		}
		if !seen[d] {
			seen[d] = true
			ds = append(ds, d)
		}
	}
	p.Domains = ds
	if len(p.Certificates) == 0 {
		return bad("providerCertificate", "missing")
	}
	for i, c := range p.Certificates {
		if c == nil || len(c.Raw) == 0 {
			return &EntryError{DN: p.DN, Line: line, Attr: "providerCertificate", Err: fmt.Errorf("%w: value %d is empty", ErrBadCertificate, i+1)}
		}
	}
	if p.Hashes == nil {
		for _, c := range p.Certificates {
			h := sha1.Sum(c.Raw)
			p.Hashes = append(p.Hashes, hex.EncodeToString(h[:]))
		}
	}
	hs := make([]string, 0, len(p.Hashes))
	for _, h := range p.Hashes {
		h = strings.ToLower(strings.TrimSpace(h))
		if _, err := hex.DecodeString(h); err != nil || (len(h) != 40 && len(h) != 64) {
			return bad("providerCertificateHash", "%q is not 40 or 64 hexadecimal digits", h)
		}
		hs = append(hs, h)
	}
	p.Hashes = hs
	p.Domains = append([]string(nil), p.Domains...)
	p.Certificates = append([]*x509.Certificate(nil), p.Certificates...)
	return nil
}

// isDomain reports whether d is a lower-case dot-atom of LDH labels (and
// underscores, seen in real zones).
func isDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// isAddrSpec reports whether a is dot-atom-text@dot-atom-text (PEC.md
// §13.3: no quoting, brackets, comments or folding).
func isAddrSpec(a string) bool {
	i := strings.LastIndexByte(a, '@')
	if i <= 0 {
		return false
	}
	return isDotAtom(a[:i]) && isDotAtom(a[i+1:])
}

// isDotAtom reports whether s is dot-atom-text (RFC 5322 §3.2.3).
func isDotAtom(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0) {
				return false
			}
		}
	}
	return true
}

// escapeDN escapes an attribute value for a DN (RFC 4514 §2.4).
func escapeDN(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case strings.IndexByte(",+\"\\<>;=", c) >= 0,
			(c == ' ' || c == '#') && i == 0,
			c == ' ' && i == len(v)-1:
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == 0:
			b.WriteString(`\00`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// canonicalDN rewrites dn with the escaping of escapeDN, so that every
// source spells a DN alike ("\2C" and "\," are one comma). A DN that does
// not parse is kept as it is.
func canonicalDN(dn string) string {
	d, err := ldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 {
		return strings.TrimSpace(dn)
	}
	rdns := make([]string, len(d.RDNs))
	for i, r := range d.RDNs {
		avas := make([]string, len(r.Attributes))
		for j, a := range r.Attributes {
			avas[j] = a.Type + "=" + escapeDN(a.Value)
		}
		rdns[i] = strings.Join(avas, "+")
	}
	return strings.Join(rdns, ",")
}

// normalizeDN is the key by which DNs are compared: canonical and
// lower-cased.
func normalizeDN(dn string) string {
	return strings.ToLower(canonicalDN(dn))
}
