package main

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/pecmail"
	"github.com/pecsdk/pec/receipt"
)

// message is what the tool shows of an envelope or a receipt.
type message struct {
	Kind       pec.Kind
	Header     mail.Header
	Data       *daticert.Data
	Signature  *smime.Verdict
	Error      *pec.Error
	Hashes     []receipt.Hash
	Wrapped    bool
	Problems   []error
	Deviations []string
	// OK: the signature is intact, by a trusted provider that is the From
	// address, and the signed content establishes Kind.
	OK bool

	hasOriginal bool
	originalRaw func() (io.Reader, error)
	certData    func() (io.Reader, error)
}

// load reads a file once (pecmail.Read) and views it as the envelope or
// the receipt it is: nothing is parsed or verified twice.
func load(path string, opts *smime.VerifyOptions) (*message, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	// The file stays open for the lazily read parts; the process is short-lived.
	m, err := pecmail.Read(f, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	if env, err := envelope.Of(m); err == nil {
		return &message{
			Kind: env.Kind, Header: env.Header, Data: env.Data, Signature: env.Signature,
			Wrapped: env.Wrapped, Problems: env.Problems, Deviations: env.Deviations, OK: env.OK(),
			hasOriginal: env.HasOriginal(), originalRaw: env.Original, certData: env.CertData,
		}, nil
	} else if !errors.Is(err, envelope.ErrNotEnvelope) {
		f.Close()
		return nil, err
	}
	rc, err := receipt.Of(m)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &message{
		Kind: rc.Kind, Header: rc.Header, Data: rc.Data, Signature: rc.Signature,
		Error: rc.Error, Hashes: rc.Hashes, Wrapped: rc.Wrapped, Problems: rc.Problems,
		Deviations: rc.Deviations, OK: rc.OK(), hasOriginal: rc.HasOriginal(),
		originalRaw: rc.Original, certData: rc.CertData,
	}, nil
}

// trustFlags are the flags that say how to judge a signature: --ca for
// the anchors of message signatures, and an index (--ldap or --ldif, with
// --index-ca).
type trustFlags struct {
	ca *string
	ix *indexFlags
}

func addTrustFlags(fs *flag.FlagSet, caUsage string) *trustFlags {
	return &trustFlags{ca: fs.String("ca", "", caUsage), ix: addIndexFlags(fs)}
}

// options loads what the flags name; nil when none is given.
func (t *trustFlags) options() (*smime.VerifyOptions, error) {
	opts, err := verifyOptions(*t.ca)
	if err != nil {
		return nil, err
	}
	idx, err := loadIndex(t.ix)
	if err != nil {
		return nil, err
	}
	if idx != nil {
		if opts == nil {
			opts = &smime.VerifyOptions{}
		}
		opts.Authority = idx
	}
	return opts, nil
}

// verifyOptions loads the trust anchors of --ca, if given.
func verifyOptions(caFile string) (*smime.VerifyOptions, error) {
	if caFile == "" {
		return nil, nil
	}
	pool, err := loadPool(caFile)
	if err != nil {
		return nil, err
	}
	return &smime.VerifyOptions{Roots: pool}, nil
}

// loadPool reads the PEM certificates of a file.
func loadPool(caFile string) (*x509.CertPool, error) {
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	n := 0
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
			return nil, fmt.Errorf("%s: %w", caFile, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate", caFile)
	}
	return pool, nil
}

// timeNow is the clock of the tool, replaced in tests.
var timeNow = time.Now
