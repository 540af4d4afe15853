package index

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Publisher pins the signer of a signed index (PEC.md §13.1): the
// publisher of the national index (AgID), or of one provider's record.
// Anchors alone are not enough: the roots that issue the publisher's
// certificate issue the providers' signing certificates too (AgID CA1,
// PEC.md §12.4), and a provider's key must not be able to publish an
// index that hands it the domains of others.
//
// Every field given must match the signer; a nil Publisher, or one with
// no field set, pins nothing.
type Publisher struct {
	// Certificates are the publisher's own certificates: the signer must
	// be one of them, byte for byte (give the old and the new one across
	// a renewal). The strongest pin: no other certificate matches, even
	// one a CA under the anchors issued with the same name. Without
	// Anchors they are the anchors themselves, each its own root.
	Certificates []*x509.Certificate
	// Subject is the distinguished name of the publisher's certificate in
	// the form of RFC 4514 ("CN=Indice PEC,O=Agenzia per l'Italia
	// Digitale,C=IT") or of OpenSSL ("C = IT, O = …, CN = …"): the signer's
	// subject must hold the same attributes, in any order, values compared
	// case-insensitively. Types are short names (CN, O, OU, C, L, ST,
	// serialNumber, organizationIdentifier, emailAddress, …) or dotted
	// OIDs.
	Subject string
	// Email is the publisher's address: one of the signer's rfc822Names
	// (else an emailAddress of its subject) must equal it, the local part
	// exactly and the domain case-insensitively (RFC 5280 §7.5).
	Email string
}

// pinned reports whether p pins anything.
func (p *Publisher) pinned() bool {
	return p != nil && (len(p.Certificates) > 0 || p.Subject != "" || p.Email != "")
}

// check returns why c is not the publisher p pins, "" when it is.
func (p *Publisher) check(c *x509.Certificate) (string, error) {
	if c == nil {
		return "no signer certificate", nil
	}
	if len(p.Certificates) > 0 && !slices.ContainsFunc(p.Certificates, c.Equal) {
		return "not one of the pinned publisher certificates", nil
	}
	if p.Subject != "" {
		want, err := dnAttrs(p.Subject)
		if err != nil {
			return "", err
		}
		if got := subjectAttrs(c); !slices.Equal(got, want) {
			return fmt.Sprintf("subject %q, pinned %q", c.Subject.String(), p.Subject), nil
		}
	}
	if p.Email != "" {
		have := emails(c)
		switch {
		case len(have) == 0:
			return "no e-mail address, pinned " + p.Email, nil
		case !slices.ContainsFunc(have, func(e string) bool { return sameAddress(e, p.Email) }):
			return fmt.Sprintf("address %s, pinned %s", strings.Join(have, ", "), p.Email), nil
		}
	}
	return "", nil
}

// attrNames are the short names of the attribute types of subjects,
// lower-cased, by OID; others are compared by their dotted OID.
var attrNames = map[string]string{
	"2.5.4.3":                    "cn",
	"2.5.4.4":                    "sn",
	"2.5.4.5":                    "serialnumber",
	"2.5.4.6":                    "c",
	"2.5.4.7":                    "l",
	"2.5.4.8":                    "st",
	"2.5.4.9":                    "street",
	"2.5.4.10":                   "o",
	"2.5.4.11":                   "ou",
	"2.5.4.12":                   "title",
	"2.5.4.17":                   "postalcode",
	"2.5.4.42":                   "givenname",
	"2.5.4.46":                   "dnqualifier",
	"2.5.4.97":                   "organizationidentifier",
	"1.2.840.113549.1.9.1":       "emailaddress",
	"0.9.2342.19200300.100.1.1":  "uid",
	"0.9.2342.19200300.100.1.25": "dc",
}

// attrAliases are other spellings of the short names.
var attrAliases = map[string]string{
	"s": "st", "e": "emailaddress", "email": "emailaddress", "gn": "givenname",
	"commonname": "cn", "countryname": "c", "organizationname": "o",
	"organizationalunitname": "ou", "localityname": "l", "stateorprovincename": "st",
}

// attrType is the key an attribute type is compared by.
func attrType(t string) string {
	t = strings.ToLower(strings.TrimSpace(t))
	t = strings.TrimPrefix(t, "oid.")
	if n, ok := attrNames[t]; ok {
		return n
	}
	if n, ok := attrAliases[t]; ok {
		return n
	}
	return t
}

// dnAttrs returns the attributes of a DN string as sorted "type=value"
// keys.
func dnAttrs(dn string) ([]string, error) {
	d, err := ldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 {
		if err == nil {
			err = fmt.Errorf("no attribute")
		}
		return nil, fmt.Errorf("Publisher.Subject %q: %w", dn, err)
	}
	var out []string
	for _, r := range d.RDNs {
		for _, a := range r.Attributes {
			out = append(out, attrType(a.Type)+"="+strings.ToLower(strings.TrimSpace(a.Value)))
		}
	}
	slices.Sort(out)
	return out, nil
}

// subjectAttrs returns the attributes of c's subject as sorted
// "type=value" keys.
func subjectAttrs(c *x509.Certificate) []string {
	var out []string
	for _, a := range c.Subject.Names {
		v, ok := a.Value.(string)
		if !ok {
			v = fmt.Sprint(a.Value)
		}
		out = append(out, attrType(a.Type.String())+"="+strings.ToLower(strings.TrimSpace(v)))
	}
	slices.Sort(out)
	return out
}

var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// emails returns the rfc822Names of c, else the emailAddress attributes
// of its subject (RFC 8550 §3).
func emails(c *x509.Certificate) []string {
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

// sameAddress compares two addresses as RFC 5280 §7.5 does: the local
// part exactly, the domain case-insensitively.
func sameAddress(a, b string) bool {
	i, j := strings.LastIndexByte(a, '@'), strings.LastIndexByte(b, '@')
	if i < 0 || j < 0 {
		return a == b
	}
	return a[:i] == b[:j] && strings.EqualFold(a[i+1:], b[j+1:])
}
