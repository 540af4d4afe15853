package index

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Limits of the LDIF reader: a published index is a few megabytes.
const (
	maxLDIFLine  = 1 << 20  // one physical line
	maxLDIFValue = 16 << 20 // one logical (unfolded) line
)

// ldifRecord is one record of an LDIF file (RFC 2849): a content record
// (change "") or a change record (add, delete, modify).
type ldifRecord struct {
	line   int // line of the dn
	dn     string
	change string
	attrs  []ldifAttr // content and add records
	mods   []ldifMod  // modify records
}

// ldifAttr is one attribute value; name is the attribute description as
// written (with options).
type ldifAttr struct {
	name  string
	value []byte
	line  int
}

// ldifMod is one modification of a modify record.
type ldifMod struct {
	op     string // add, delete, replace
	attr   string
	values []ldifAttr
	line   int
}

// ldifLine is one logical line: continuation lines unfolded.
type ldifLine struct {
	n    int
	text []byte
}

// readLDIF reads every record of an LDIF file. It accepts LF and CRLF
// line endings, folded lines, comments (and their continuations), base64
// values ("::"), a leading "version: 1", and control lines (ignored).
// Values by URL (":<") and moddn records are refused with ErrUnsupported.
func readLDIF(r io.Reader) ([]ldifRecord, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLDIFLine)
	var (
		recs      []ldifRecord
		block     []ldifLine // logical lines of the current record
		cur       *ldifLine  // logical line being unfolded
		inComment bool
		n         int
		first     = true
	)
	flushLine := func() {
		if cur != nil {
			block = append(block, *cur)
			cur = nil
		}
	}
	flushRecord := func() error {
		flushLine()
		if len(block) == 0 {
			return nil
		}
		if first {
			first = false
			if k, v, ok := bytes.Cut(block[0].text, []byte(":")); ok && strings.EqualFold(string(k), "version") {
				if strings.TrimSpace(string(v)) != "1" {
					return syntaxErr(block[0].n, "version %q, want 1", strings.TrimSpace(string(v)))
				}
				block = block[1:]
				if len(block) == 0 {
					return nil
				}
			}
		}
		rec, err := parseRecord(block)
		if err != nil {
			return err
		}
		recs = append(recs, rec)
		block = nil
		return nil
	}
	for sc.Scan() {
		n++
		line := sc.Bytes()
		line = bytes.TrimSuffix(line, []byte("\r"))
		switch {
		case len(bytes.TrimSpace(line)) == 0:
			// QUIRK: a line of only blanks ends a record, as a blank line
			// does; hand-edited dumps carry them.
			inComment = false
			if err := flushRecord(); err != nil {
				return nil, err
			}
		case len(line) > 0 && line[0] == ' ':
			if inComment {
				continue
			}
			if cur == nil {
				return nil, syntaxErr(n, "continuation line with no line to continue")
			}
			if len(cur.text)+len(line) > maxLDIFValue {
				return nil, syntaxErr(n, "line longer than %d bytes", maxLDIFValue)
			}
			cur.text = append(cur.text, line[1:]...)
		case line[0] == '#':
			flushLine()
			inComment = true
		default:
			flushLine()
			inComment = false
			cur = &ldifLine{n: n, text: append([]byte(nil), line...)}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, syntaxErr(n+1, "line longer than %d bytes", maxLDIFLine)
		}
		return nil, err
	}
	if err := flushRecord(); err != nil {
		return nil, err
	}
	return recs, nil
}

// parseRecord parses the logical lines of one record.
func parseRecord(lines []ldifLine) (ldifRecord, error) {
	name, dn, err := parseAttrLine(lines[0])
	if err != nil {
		return ldifRecord{}, err
	}
	if !strings.EqualFold(name, "dn") {
		return ldifRecord{}, syntaxErr(lines[0].n, "record starts with %q, not dn", name)
	}
	if !utf8.Valid(dn) {
		return ldifRecord{}, syntaxErr(lines[0].n, "dn is not UTF-8")
	}
	rec := ldifRecord{line: lines[0].n, dn: strings.TrimSpace(string(dn))}
	if rec.dn == "" {
		return ldifRecord{}, syntaxErr(lines[0].n, "empty dn")
	}
	rest := lines[1:]
	for len(rest) > 0 {
		name, _, err := parseAttrLine(rest[0])
		if err != nil {
			return ldifRecord{}, err
		}
		if !strings.EqualFold(name, "control") {
			break
		}
		rest = rest[1:] // controls do not change the content
	}
	if len(rest) > 0 {
		name, v, err := parseAttrLine(rest[0])
		if err != nil {
			return ldifRecord{}, err
		}
		if strings.EqualFold(name, "changetype") {
			rec.change = strings.ToLower(strings.TrimSpace(string(v)))
			rest = rest[1:]
		}
	}
	switch rec.change {
	case "", "add":
		for _, l := range rest {
			name, v, err := parseAttrLine(l)
			if err != nil {
				return ldifRecord{}, err
			}
			if string(l.text) == "-" || strings.EqualFold(name, "changetype") {
				return ldifRecord{}, syntaxErr(l.n, "%q in a record without changetype modify", l.text)
			}
			rec.attrs = append(rec.attrs, ldifAttr{name: name, value: v, line: l.n})
		}
		if len(rec.attrs) == 0 {
			return ldifRecord{}, syntaxErr(rec.line, "entry %q has no attributes", rec.dn)
		}
	case "delete":
		if len(rest) > 0 {
			return ldifRecord{}, syntaxErr(rest[0].n, "lines after changetype delete")
		}
	case "modify":
		mods, err := parseMods(rest)
		if err != nil {
			return ldifRecord{}, err
		}
		rec.mods = mods
	case "moddn", "modrdn":
		return ldifRecord{}, &SyntaxError{Line: rec.line, Err: fmt.Errorf("%w: changetype %s", ErrUnsupported, rec.change)}
	default:
		return ldifRecord{}, syntaxErr(rec.line+1, "unknown changetype %q", rec.change)
	}
	return rec, nil
}

// parseMods parses the body of a modify record: groups of "op: attr",
// values of attr, and "-".
func parseMods(lines []ldifLine) ([]ldifMod, error) {
	var mods []ldifMod
	var cur *ldifMod
	for _, l := range lines {
		if string(l.text) == "-" {
			if cur == nil {
				return nil, syntaxErr(l.n, "\"-\" with no modification to end")
			}
			mods = append(mods, *cur)
			cur = nil
			continue
		}
		name, v, err := parseAttrLine(l)
		if err != nil {
			return nil, err
		}
		if cur == nil {
			op := strings.ToLower(name)
			if op != "add" && op != "delete" && op != "replace" {
				return nil, syntaxErr(l.n, "modification %q, want add, delete or replace", name)
			}
			attr := strings.TrimSpace(string(v))
			if !validAttrName(attr) {
				return nil, syntaxErr(l.n, "bad attribute description %q", attr)
			}
			cur = &ldifMod{op: op, attr: attr, line: l.n}
			continue
		}
		if attrBase(name) != attrBase(cur.attr) {
			return nil, syntaxErr(l.n, "value of %s inside the modification of %s (missing \"-\"?)", name, cur.attr)
		}
		cur.values = append(cur.values, ldifAttr{name: name, value: v, line: l.n})
	}
	if cur != nil {
		// QUIRK: the last modification without its "-"; RFC 2849 requires
		// it, and some generators leave it out.
		mods = append(mods, *cur)
	}
	return mods, nil
}

// parseAttrLine splits "name: value", "name:: base64" and refuses
// "name:< URL".
func parseAttrLine(l ldifLine) (string, []byte, error) {
	i := bytes.IndexByte(l.text, ':')
	if i < 0 {
		if string(l.text) == "-" {
			return "-", nil, nil
		}
		return "", nil, syntaxErr(l.n, "no colon in %q", truncate(l.text))
	}
	name := string(l.text[:i])
	if !validAttrName(name) {
		return "", nil, syntaxErr(l.n, "bad attribute description %q", truncate(l.text[:i]))
	}
	rest := l.text[i+1:]
	switch {
	case len(rest) > 0 && rest[0] == ':':
		enc := strings.Map(dropSpace, string(rest[1:]))
		v, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			// QUIRK: unpadded base64, as some exporters write it.
			if v2, err2 := base64.RawStdEncoding.DecodeString(enc); err2 == nil {
				return name, v2, nil
			}
			return "", nil, syntaxErr(l.n, "%s: bad base64: %v", name, err)
		}
		return name, v, nil
	case len(rest) > 0 && rest[0] == '<':
		return "", nil, &SyntaxError{Line: l.n, Err: fmt.Errorf("%w: %s: value by URL", ErrUnsupported, name)}
	}
	v := bytes.TrimLeft(rest, " ")
	v = bytes.TrimRight(v, " \t")
	return name, append([]byte(nil), v...), nil
}

func dropSpace(r rune) rune {
	if r == ' ' || r == '\t' {
		return -1
	}
	return r
}

// validAttrName reports whether s is an attribute description: a name or
// an OID, with options (RFC 4512 §2.5).
func validAttrName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == ';') {
			return false
		}
	}
	return s[0] != ';' && s[0] != '-'
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}
