package index

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pecsdk/pec/pec/smime"
)

// maxLDIFFile bounds an LDIF file read whole (signed files are).
const maxLDIFFile = 256 << 20

// ParseLDIF reads an index from LDIF (RFC 2849), the published dump of
// PEC.md §13.1: content records, or change records (add, delete, modify)
// applied in order. Entries of the object class provider become the
// snapshot; others (the root o=postacert) are skipped. Errors are a
// *SyntaxError with the line, or an *EntryError naming the entry.
func ParseLDIF(r io.Reader) (*Snapshot, error) {
	recs, err := readLDIF(r)
	if err != nil {
		return nil, err
	}
	entries, err := applyRecords(recs)
	if err != nil {
		return nil, err
	}
	return fromEntries(entries)
}

// SignedOptions says who may sign an index read by ParseSignedLDIF and
// how recent it must be. A nil *SignedOptions refuses every signed index:
// there is nothing to trust it by.
type SignedOptions struct {
	// Anchors are the roots the signer's certificate must chain to, valid
	// at CurrentTime and allowed to sign e-mail. When nil, the
	// certificates of Publisher are the anchors; with neither, every
	// signed index is refused.
	Anchors *x509.CertPool
	// Publisher pins the signer among the certificates under Anchors. It
	// is required unless AnySignerUnderAnchors is set: the anchors of the
	// index issue the providers' certificates too.
	Publisher *Publisher
	// AnySignerUnderAnchors accepts any signer that chains to Anchors
	// when no Publisher is pinned. Unsafe whenever the anchors issue
	// certificates to others than the publisher — as AgID CA1 issues
	// every provider's: any of them could then publish an index that
	// hands it the domains of the others. For test and private networks
	// whose anchors certify the publisher alone.
	AnySignerUnderAnchors bool
	// MinSigningTime refuses an index signed before it (ErrRollback), and
	// one without a signingTime attribute: give the signing time of the
	// index last accepted (Snapshot.SigningTime, Status.SigningTime), kept
	// across restarts. Zero sets no floor.
	MinSigningTime time.Time
	// CurrentTime is the time the signer's certificate must be valid at;
	// zero means now.
	CurrentTime time.Time
}

// ParseSignedLDIF reads an index from a CMS signed-data object (.p7m,
// DER) encapsulating its LDIF (PEC.md §13.1). Before a line is read the
// signature must be intact, its signer must chain to opts.Anchors (or be
// one of the pinned publisher certificates), be the publisher pinned by
// opts.Publisher (unless opts.AnySignerUnderAnchors), and the signing
// time must not be before opts.MinSigningTime; otherwise the error is a
// *SignedLDIFError matching ErrUntrustedLDIF, and ErrPublisher or
// ErrRollback for those refusals. The snapshot remembers the signing time
// (Snapshot.SigningTime), which a Mirror compares with the next one.
// Certificate revocation (CRL, OCSP) is not checked.
func ParseSignedLDIF(p7m []byte, opts *SignedOptions) (*Snapshot, error) {
	if opts == nil {
		opts = &SignedOptions{}
	}
	pinned := opts.Publisher.pinned()
	roots := opts.Anchors
	if roots == nil && pinned && len(opts.Publisher.Certificates) > 0 {
		roots = x509.NewCertPool()
		for _, c := range opts.Publisher.Certificates {
			roots.AddCert(c)
		}
	}
	if roots == nil {
		return nil, &SignedLDIFError{Err: ErrUntrustedLDIF, Detail: "no trust anchors or pinned publisher certificates given"}
	}
	content, v := smime.VerifyAttached(p7m, &smime.VerifyOptions{Roots: roots, CurrentTime: opts.CurrentTime})
	refuse := &SignedLDIFError{Err: ErrUntrustedLDIF, SigningTime: v.SigningTime}
	if v.Signer != nil {
		refuse.Signer = certName(v.Signer)
	}
	valid := v.Intact && v.Chained != nil && *v.Chained
	var why []string
	for _, p := range v.Problems {
		// Being a PEC provider is not asked of the publisher.
		if p.Code != smime.ProblemNotProvider {
			refuse.Problems = append(refuse.Problems, p)
			why = append(why, p.String())
		}
	}
	if !pinned && !opts.AnySignerUnderAnchors {
		// Refused whatever the signature: the signer is named, for the
		// caller to confirm it and pin it, and so is the state of the
		// signature, lest an invalid one be taken for the publisher's.
		refuse.Err, refuse.Detail = ErrPublisher, "no publisher pinned (Publisher: certificate, subject or e-mail address), "+
			"and any signer under the anchors not allowed (AnySignerUnderAnchors)"
		if valid {
			refuse.Detail += "; the signature is intact and chains to the anchors"
		} else {
			refuse.Detail += "; the signature is not valid either: " + strings.Join(why, "; ")
		}
		return nil, refuse
	}
	if !valid {
		refuse.Detail = strings.Join(why, "; ")
		return nil, refuse
	}
	if pinned {
		why, err := opts.Publisher.check(v.Signer)
		if err != nil {
			why = err.Error()
		}
		if why != "" {
			refuse.Err, refuse.Detail = ErrPublisher, why
			return nil, refuse
		}
	}
	if !opts.MinSigningTime.IsZero() {
		switch {
		case v.SigningTime.IsZero():
			refuse.Err, refuse.Detail = ErrRollback, "no signing time, and the index must be signed at "+stamp(opts.MinSigningTime)+" or later"
			return nil, refuse
		case v.SigningTime.Before(opts.MinSigningTime):
			refuse.Err, refuse.Detail = ErrRollback, "signed at "+stamp(v.SigningTime)+", before "+stamp(opts.MinSigningTime)
			return nil, refuse
		}
	}
	s, err := ParseLDIF(bytes.NewReader(content))
	if err != nil {
		return nil, err
	}
	s.signingTime = v.SigningTime
	s.publisher = refuse.Signer
	return s, nil
}

// stamp formats t in messages.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// applyRecords applies the records in order and returns the entries.
func applyRecords(recs []ldifRecord) ([]*entry, error) {
	var order []*entry
	byDN := map[string]*entry{}
	for _, r := range recs {
		key := normalizeDN(r.dn)
		e := byDN[key]
		conflict := func(format string, args ...any) error {
			return &EntryError{DN: r.dn, Line: r.line, Err: fmt.Errorf("%w: "+format, append([]any{ErrConflict}, args...)...)}
		}
		switch r.change {
		case "", "add":
			if e != nil {
				return nil, conflict("entry already defined at line %d", e.line)
			}
			e = newEntry(r.dn, r.line)
			for _, a := range r.attrs {
				e.add(a.name, a.value)
			}
			byDN[key] = e
			order = append(order, e)
		case "delete":
			if e == nil {
				return nil, conflict("delete of an entry not defined before")
			}
			delete(byDN, key)
		case "modify":
			if e == nil {
				return nil, conflict("modify of an entry not defined before")
			}
			for _, m := range r.mods {
				applyMod(e, m)
			}
		}
	}
	out := order[:0]
	for _, e := range order {
		if byDN[normalizeDN(e.dn)] == e {
			out = append(out, e)
		}
	}
	return out, nil
}

// applyMod applies one modification; deleting a value not present is
// not an error (the result is the same).
func applyMod(e *entry, m ldifMod) {
	name := attrBase(m.attr)
	switch m.op {
	case "replace":
		delete(e.attrs, name)
	case "delete":
		if len(m.values) == 0 {
			delete(e.attrs, name)
			return
		}
		for _, v := range m.values {
			vs := e.attrs[name]
			for i := range vs {
				if bytes.EqualFold(vs[i], v.value) {
					e.attrs[name] = append(vs[:i:i], vs[i+1:]...)
					break
				}
			}
		}
		return
	}
	for _, v := range m.values {
		e.add(name, v.value)
	}
}

// fromEntries converts the provider entries and builds the snapshot.
func fromEntries(entries []*entry) (*Snapshot, error) {
	var ps []*Provider
	lines := map[*Provider]int{}
	for _, e := range entries {
		if !e.isProvider() {
			continue
		}
		p, err := e.provider()
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
		lines[p] = e.line
	}
	return build(ps, lines)
}

// Source loads a whole index; a Mirror refreshes from one.
type Source interface {
	Load(ctx context.Context) (*Snapshot, error)
}

// File is an LDIF file as a Source: plain, or signed (.p7m, DER or
// base64). A signed file is read as ParseSignedLDIF reads it, with the
// fields of SignedOptions. Any of Anchors, Publisher,
// AnySignerUnderAnchors or RequireSigned refuses a plain file: otherwise
// stripping the signature would pass the check.
type File struct {
	// Path is the file to read.
	Path string
	// Anchors are the roots the signer of a signed file must chain to
	// (SignedOptions.Anchors). A signed file with neither Anchors nor
	// pinned Publisher certificates is refused.
	Anchors *x509.CertPool
	// Publisher pins the signer of a signed file (SignedOptions.Publisher):
	// required unless AnySignerUnderAnchors is set.
	Publisher *Publisher
	// AnySignerUnderAnchors accepts any signer chaining to Anchors when
	// no Publisher is pinned (SignedOptions.AnySignerUnderAnchors): unsafe
	// when the anchors issue certificates to others, as the anchors of
	// PEC issue every provider's.
	AnySignerUnderAnchors bool
	// RequireSigned refuses a plain (unsigned) file even when nothing
	// above is set (a signed one is then refused for lack of anchors).
	RequireSigned bool
	// MinSigningTime refuses a file signed before it, or without a
	// signing time (SignedOptions.MinSigningTime): the signing time of the
	// index last accepted, kept across restarts. A Mirror compares each
	// new index with the one it serves by itself.
	MinSigningTime time.Time
	// CurrentTime is when the signer certificate must be valid; zero
	// means now.
	CurrentTime time.Time
}

// Load reads and parses the file.
func (f *File) Load(ctx context.Context) (*Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fh, err := os.Open(f.Path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxLDIFFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxLDIFFile {
		return nil, fmt.Errorf("index: %s: larger than %d bytes", f.Path, maxLDIFFile)
	}
	s, err := f.parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	return s, nil
}

func (f *File) parse(b []byte) (*Snapshot, error) {
	if der, ok := signedData(b); ok {
		return ParseSignedLDIF(der, &SignedOptions{
			Anchors: f.Anchors, Publisher: f.Publisher, AnySignerUnderAnchors: f.AnySignerUnderAnchors,
			MinSigningTime: f.MinSigningTime, CurrentTime: f.CurrentTime,
		})
	}
	if f.RequireSigned || f.Anchors != nil || f.Publisher.pinned() || f.AnySignerUnderAnchors {
		return nil, &SignedLDIFError{Err: ErrUntrustedLDIF, Detail: "the file is not signed, and a signed index is required (anchors or a publisher were given)"}
	}
	return ParseLDIF(bytes.NewReader(b))
}

// signedData reports whether b is a CMS object rather than LDIF text:
// DER (a SEQUENCE: LDIF never starts with 0x30 '0') or base64 of DER.
func signedData(b []byte) ([]byte, bool) {
	if len(b) > 0 && b[0] == 0x30 {
		return b, true
	}
	t := bytes.TrimSpace(b)
	if bytes.HasPrefix(t, []byte("MI")) {
		if der, err := base64.StdEncoding.DecodeString(strings.Map(dropBlank, string(t))); err == nil && len(der) > 0 && der[0] == 0x30 {
			return der, true
		}
	}
	return nil, false
}

func dropBlank(r rune) rune {
	if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
		return -1
	}
	return r
}
