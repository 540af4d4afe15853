package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/pecsdk/pec/pec/index"
)

// maxIndexDownload bounds a signed index fetched by URL.
const maxIndexDownload = 256 << 20

// indexSource turns the [index] section into an index.Source.
func indexSource(x IndexConfig) (index.Source, error) {
	if x.LDAP != "" {
		l := &index.LDAP{URL: x.LDAP, BindDN: x.LDAPBindDN}
		if x.LDAPPasswordFile != "" {
			b, err := os.ReadFile(x.LDAPPasswordFile)
			if err != nil {
				return nil, err
			}
			l.Password = strings.TrimRight(string(b), "\r\n")
		}
		return l, nil
	}
	opts, err := signedOptions(x)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(x.LDIF, "https://") {
		return &httpsIndex{URL: x.LDIF, Options: opts}, nil
	}
	f := &index.File{Path: x.LDIF}
	if opts != nil {
		f.Anchors, f.Publisher = opts.Anchors, opts.Publisher
	}
	return f, nil
}

// signedOptions reads the anchors and the publisher pin; nil when none
// is configured (a plain LDIF file is then accepted).
func signedOptions(x IndexConfig) (*index.SignedOptions, error) {
	if x.Anchors == "" && x.PublisherCertificate == "" && x.PublisherSubject == "" && x.PublisherEmail == "" {
		return nil, nil
	}
	o := &index.SignedOptions{Publisher: &index.Publisher{Subject: x.PublisherSubject, Email: x.PublisherEmail}}
	if x.Anchors != "" {
		certs, err := loadCerts(x.Anchors)
		if err != nil {
			return nil, err
		}
		o.Anchors = x509.NewCertPool()
		for _, c := range certs {
			o.Anchors.AddCert(c)
		}
	}
	if x.PublisherCertificate != "" {
		certs, err := loadCerts(x.PublisherCertificate)
		if err != nil {
			return nil, err
		}
		o.Publisher.Certificates = certs
	}
	return o, nil
}

// httpsIndex is a signed LDIF published at an https:// URL (PEC.md
// §13.1), checked as index.ParseSignedLDIF checks it.
type httpsIndex struct {
	URL     string
	Options *index.SignedOptions
	Client  *http.Client // nil: a client with a one-minute timeout
}

// Load implements index.Source.
func (h *httpsIndex) Load(ctx context.Context) (*index.Snapshot, error) {
	if h.Options == nil {
		return nil, errors.New("index: an index by URL must be signed")
	}
	c := h.Client
	if c == nil {
		c = &http.Client{Timeout: time.Minute}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("index: %s: %s", h.URL, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxIndexDownload+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxIndexDownload {
		return nil, fmt.Errorf("index: %s: larger than %d bytes", h.URL, maxIndexDownload)
	}
	s, err := index.ParseSignedLDIF(b, h.Options)
	if err != nil {
		return nil, fmt.Errorf("index: %s: %w", h.URL, err)
	}
	return s, nil
}
