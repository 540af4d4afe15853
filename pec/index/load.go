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

// ParseSignedLDIF reads an index from a CMS signed-data object (.p7m,
// DER) encapsulating its LDIF. The signature is verified with opts first
// (opts.Roots, or opts.Authority, are required: the anchors of the
// publisher); unless it is intact and trusted, the error wraps
// ErrUntrustedLDIF and not one line is read.
func ParseSignedLDIF(p7m []byte, opts *smime.VerifyOptions) (*Snapshot, error) {
	if opts == nil || (opts.Roots == nil && opts.Authority == nil) {
		return nil, fmt.Errorf("%w: no trust anchors given", ErrUntrustedLDIF)
	}
	content, v := smime.VerifyAttached(p7m, opts)
	if !v.Intact || v.Trusted == nil || !*v.Trusted {
		var why []string
		for _, p := range v.Problems {
			why = append(why, p.String())
		}
		return nil, fmt.Errorf("%w: %s", ErrUntrustedLDIF, strings.Join(why, "; "))
	}
	return ParseLDIF(bytes.NewReader(content))
}

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
// base64).
type File struct {
	// Path is the file to read.
	Path string
	// Anchors verify a signed file; a signed file without Anchors is
	// refused. With Anchors a plain file is refused too: otherwise
	// stripping the signature would pass the check.
	Anchors *x509.CertPool
	// RequireSigned refuses a plain (unsigned) file even without Anchors
	// (a signed one is then refused for lack of them).
	RequireSigned bool
	// CurrentTime is when the signer certificate must be valid; zero
	// means its signing time.
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
		return ParseSignedLDIF(der, &smime.VerifyOptions{Roots: f.Anchors, CurrentTime: f.CurrentTime})
	}
	if f.RequireSigned || f.Anchors != nil {
		return nil, fmt.Errorf("%w: the file is not signed, and anchors to verify it were given", ErrUntrustedLDIF)
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
