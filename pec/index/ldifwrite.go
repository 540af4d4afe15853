package index

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"io"
	"strings"
)

// ldifFold is the length of written lines (RFC 2849 note 2 suggests 76).
const ldifFold = 76

// WriteLDIF writes the snapshot as the LDIF of PEC.md §13.4: the root
// o=postacert, then one content record per entry with the object class
// provider, certificates as providerCertificate;binary in base64. Reading
// it back with ParseLDIF gives the same snapshot.
func (s *Snapshot) WriteLDIF(w io.Writer) error {
	recs := []ldifRecord{{dn: BaseDN, attrs: []ldifAttr{
		{name: "objectClass", value: []byte("top")},
		{name: "objectClass", value: []byte("organization")},
		{name: "o", value: []byte("postacert")},
		{name: "description", value: []byte("Base root for the PEC providers directory")},
	}}}
	for _, p := range s.providers {
		recs = append(recs, providerRecord(p))
	}
	return writeLDIF(w, recs)
}

func providerRecord(p *Provider) ldifRecord {
	r := ldifRecord{dn: p.DN}
	add := func(name, v string) {
		if v != "" {
			r.attrs = append(r.attrs, ldifAttr{name: name, value: []byte(v)})
		}
	}
	add("objectClass", "top")
	add("objectClass", "provider")
	add("providerName", p.Name)
	add("providerUnit", p.Unit)
	for _, h := range p.Hashes {
		add("providerCertificateHash", strings.ToUpper(h))
	}
	for _, c := range p.Certificates {
		r.attrs = append(r.attrs, ldifAttr{name: "providerCertificate;binary", value: c.Raw})
	}
	add("mailReceipt", p.MailReceipt)
	for _, d := range p.Domains {
		add("managedDomains", d)
	}
	add("LDIFLocationURL", p.LDIFLocationURL)
	add("description", p.Description)
	return r
}

// writeLDIF writes records with "version: 1", folding long lines and
// encoding in base64 the values that are not SAFE-STRING.
func writeLDIF(w io.Writer, recs []ldifRecord) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("version: 1\n")
	for _, r := range recs {
		bw.WriteString("\n")
		writeValue(bw, "dn", []byte(r.dn))
		if r.change != "" {
			writeValue(bw, "changetype", []byte(r.change))
		}
		for _, a := range r.attrs {
			writeValue(bw, a.name, a.value)
		}
		for _, m := range r.mods {
			writeValue(bw, m.op, []byte(m.attr))
			for _, a := range m.values {
				writeValue(bw, a.name, a.value)
			}
			bw.WriteString("-\n")
		}
	}
	return bw.Flush()
}

// writeValue writes one attribute line, folded at ldifFold.
func writeValue(w *bufio.Writer, name string, v []byte) {
	line := name + ": " + string(v)
	if !safeString(v) {
		line = name + ":: " + base64.StdEncoding.EncodeToString(v)
	}
	for first := true; ; first = false {
		n := ldifFold
		if !first {
			w.WriteByte(' ')
			n--
		}
		if len(line) <= n {
			w.WriteString(line)
			w.WriteByte('\n')
			return
		}
		w.WriteString(line[:n])
		w.WriteByte('\n')
		line = line[n:]
	}
}

// safeString reports whether v may be written as is (RFC 2849
// SAFE-STRING), and reads back unchanged (no trailing blank).
func safeString(v []byte) bool {
	if len(v) == 0 {
		return true
	}
	if v[0] == ' ' || v[0] == ':' || v[0] == '<' || v[len(v)-1] == ' ' || v[len(v)-1] == '\t' {
		return false
	}
	for _, c := range v {
		if c == 0 || c == '\n' || c == '\r' || c >= 0x80 {
			return false
		}
	}
	return true
}

// hashHex is the hexadecimal form of a hash in messages.
func hashHex(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }
