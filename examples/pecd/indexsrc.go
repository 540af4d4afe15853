package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
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
	if opts != nil && x.State != "" {
		if opts.MinSigningTime, err = readIndexState(x.State); err != nil {
			return nil, err
		}
	}
	if strings.HasPrefix(x.LDIF, "https://") {
		return &httpsIndex{URL: x.LDIF, Options: opts}, nil
	}
	f := &index.File{Path: x.LDIF}
	if opts != nil {
		f.Anchors, f.Publisher, f.MinSigningTime = opts.Anchors, opts.Publisher, opts.MinSigningTime
	}
	return f, nil
}

// readIndexState reads the signing time kept by saveIndexState; zero
// when the file does not exist yet.
func readIndexState(path string) (time.Time, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
	if err != nil {
		return time.Time{}, fmt.Errorf("index state %s: %w", path, err)
	}
	return t, nil
}

// saveIndexState keeps the signing time of the index served when it is
// later than the one kept.
func saveIndexState(path string, st index.Status) error {
	if path == "" || st.Err != nil || st.SigningTime.IsZero() {
		return nil
	}
	kept, err := readIndexState(path)
	if err != nil || !st.SigningTime.After(kept) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(path, []byte(st.SigningTime.UTC().Format(time.RFC3339Nano)+"\n"), 0o644)
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
