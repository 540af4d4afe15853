package main

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/sample"
)

// indexTimeout bounds reading the directory.
var indexTimeout = 30 * time.Second

// cmdIndex runs "pec index lookup" and "pec index dump".
func cmdIndex(args []string, out, errOut io.Writer) (int, error) {
	if len(args) == 0 {
		return 2, fmt.Errorf("index: no subcommand: lookup or dump (pec help index)")
	}
	switch args[0] {
	case "lookup":
		return indexLookup(args[1:], out)
	case "dump":
		return indexDump(args[1:], out, errOut)
	case "help", "-h", "-help", "--help":
		return 0, help(out, []string{"index"})
	}
	return 2, fmt.Errorf("index: unknown subcommand %q (lookup, dump)", args[0])
}

// indexFlags are the flags naming an index: --ldap or --ldif, --index-ca
// for the anchors of a signed LDIF's publisher and of an ldaps server, and
// the pin of that publisher. They are not the anchors of message
// signatures (--ca): a provider key, which chains to those, must not be
// able to sign a replacement index, nor may any other certificate under
// the index's anchors but the publisher's.
type indexFlags struct {
	ldap, ldif, ca *string
	// The publisher of a signed --ldif (index.Publisher).
	pubCert, pubSubject, pubEmail *string
	anySigner                     *bool
}

func addIndexFlags(fs *flag.FlagSet) *indexFlags {
	return &indexFlags{
		ldap: fs.String("ldap", "", "URL of the provider directory (ldap:// or ldaps://)"),
		ldif: fs.String("ldif", "", "LDIF file of the provider index: plain, or signed (.p7m) and then read only from the publisher --index-publisher-* pins"),
		ca:   fs.String("index-ca", "", "PEM file of the anchors of the index: its publisher's certificate chain (then a plain LDIF is refused) and the ldaps server"),
		pubCert: fs.String("index-publisher-cert", "",
			"PEM file of the certificate(s) of the publisher of a signed --ldif: its signer must be one of them (without --index-ca, they are the anchors)"),
		pubSubject: fs.String("index-publisher-subject", "", "subject DN the signer of a signed --ldif must have (with --index-ca)"),
		pubEmail:   fs.String("index-publisher-email", "", "e-mail address the signer of a signed --ldif must have (with --index-ca)"),
		anySigner: fs.Bool("index-any-signer", false,
			"accept a signed --ldif from any signer under --index-ca, without a pinned publisher: unsafe when that CA certifies providers or anyone else too"),
	}
}

// publisher returns the publisher pinned by the flags; nil when none is.
func (f *indexFlags) publisher() (*index.Publisher, error) {
	if *f.pubCert == "" && *f.pubSubject == "" && *f.pubEmail == "" {
		return nil, nil
	}
	p := &index.Publisher{Subject: *f.pubSubject, Email: *f.pubEmail}
	if *f.pubCert != "" {
		certs, err := loadCerts(*f.pubCert)
		if err != nil {
			return nil, err
		}
		p.Certificates = certs
	}
	return p, nil
}

// loadIndex reads the index named by --ldap or --ldif; nil when neither
// is given.
func loadIndex(f *indexFlags) (*index.Snapshot, error) {
	ldapURL, ldifFile := *f.ldap, *f.ldif
	if ldapURL != "" && ldifFile != "" {
		return nil, fmt.Errorf("give --ldap or --ldif, not both")
	}
	pub, err := f.publisher()
	if err != nil {
		return nil, err
	}
	if ldapURL == "" && ldifFile == "" {
		if pub != nil || *f.anySigner {
			return nil, fmt.Errorf("--index-publisher-* and --index-any-signer need a signed --ldif")
		}
		return nil, nil
	}
	var anchors *x509.CertPool
	if *f.ca != "" {
		pool, err := loadPool(*f.ca)
		if err != nil {
			return nil, err
		}
		anchors = pool
	}
	ctx, cancel := context.WithTimeout(context.Background(), indexTimeout)
	defer cancel()
	if ldifFile != "" {
		return (&index.File{Path: ldifFile, Anchors: anchors, Publisher: pub, AnySignerUnderAnchors: *f.anySigner}).Load(ctx)
	}
	if pub != nil || *f.anySigner {
		return nil, fmt.Errorf("--index-publisher-* and --index-any-signer apply to a signed --ldif, not to --ldap")
	}
	src := &index.LDAP{URL: ldapURL}
	if anchors != nil {
		src.TLSConfig = &tls.Config{RootCAs: anchors}
	}
	return src.Load(ctx)
}

// jsonProvider is an index entry in --json output.
type jsonProvider struct {
	DN           string     `json:"dn"`
	Name         string     `json:"name"`
	Unit         string     `json:"unit,omitempty"`
	MailReceipt  string     `json:"mail_receipt"`
	Domains      []string   `json:"domains"`
	Certificates []jsonCert `json:"certificates"`
	LDIFLocation string     `json:"ldif_location_url,omitempty"`
	Description  string     `json:"description,omitempty"`
}

type jsonCert struct {
	SHA1      string `json:"sha1"`
	Subject   string `json:"subject"`
	Email     string `json:"email,omitempty"`
	NotBefore string `json:"not_before"`
	NotAfter  string `json:"not_after"`
}

func providerJSON(p *index.Provider) jsonProvider {
	j := jsonProvider{DN: p.DN, Name: p.Name, Unit: p.Unit, MailReceipt: p.MailReceipt, Domains: p.Domains,
		LDIFLocation: p.LDIFLocationURL, Description: p.Description, Certificates: []jsonCert{}}
	for _, c := range p.Certificates {
		h := sha1.Sum(c.Raw)
		jc := jsonCert{SHA1: strings.ToUpper(hex.EncodeToString(h[:])), Subject: c.Subject.String(),
			NotBefore: c.NotBefore.UTC().Format(time.RFC3339), NotAfter: c.NotAfter.UTC().Format(time.RFC3339)}
		if len(c.EmailAddresses) > 0 {
			jc.Email = c.EmailAddresses[0]
		}
		j.Certificates = append(j.Certificates, jc)
	}
	return j
}

// indexLookup answers whether a domain is PEC: status 0 when it is, 1
// when not.
func indexLookup(args []string, out io.Writer) (int, error) {
	fs := newFlagSet("index lookup")
	src := addIndexFlags(fs)
	asJSON := fs.Bool("json", false, "print a JSON object")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return 2, err
	}
	if len(pos) != 1 || (*src.ldap == "") == (*src.ldif == "") {
		return 2, fmt.Errorf("index lookup: usage: pec index lookup (--ldap URL | --ldif FILE) [--json] DOMAIN")
	}
	idx, err := loadIndex(src)
	if err != nil {
		return 2, err
	}
	domain := pos[0]
	p, ok := idx.Domain(domain)
	if *asJSON {
		r := struct {
			Domain   string        `json:"domain"`
			PEC      bool          `json:"pec"`
			Provider *jsonProvider `json:"provider,omitempty"`
		}{Domain: domain, PEC: ok}
		if ok {
			j := providerJSON(p)
			r.Provider = &j
		}
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			return 2, err
		}
	} else if ok {
		name := p.Name
		if p.Unit != "" {
			name += " (" + p.Unit + ")"
		}
		fmt.Fprintf(out, "%s: PEC domain of %s, service address %s\n", domain, name, p.MailReceipt)
	} else {
		fmt.Fprintf(out, "%s: not a PEC domain\n", domain)
	}
	if !ok {
		return 1, nil
	}
	return 0, nil
}

// indexDump prints the whole index as LDIF, or JSON with --json. With no
// source it prints the index of a fresh sample set.
func indexDump(args []string, out, errOut io.Writer) (int, error) {
	fs := newFlagSet("index dump")
	src := addIndexFlags(fs)
	asJSON := fs.Bool("json", false, "print a JSON array of the entries")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return 2, err
	}
	if len(pos) != 0 {
		return 2, fmt.Errorf("index dump: usage: pec index dump [--ldap URL | --ldif FILE] [--json]")
	}
	idx, err := loadIndex(src)
	if err != nil {
		return 2, err
	}
	if idx == nil {
		set, err := sample.New(timeNow())
		if err != nil {
			return 2, err
		}
		if idx, err = set.Index(); err != nil {
			return 2, err
		}
		fmt.Fprintln(errOut, "pec: no --ldap or --ldif: the index of a fresh sample set")
	}
	if !*asJSON {
		if err := idx.WriteLDIF(out); err != nil {
			return 2, err
		}
		return 0, nil
	}
	list := []jsonProvider{}
	for _, p := range idx.Providers() {
		list = append(list, providerJSON(p))
	}
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(list); err != nil {
		return 2, err
	}
	return 0, nil
}

// loadCerts reads the PEM certificates of a file.
func loadCerts(file string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate", file)
	}
	return certs, nil
}
