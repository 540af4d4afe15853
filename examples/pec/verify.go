package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/smime"
)

func cmdVerify(args []string, out io.Writer) (int, error) {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	trust := addTrustFlags(fs, "PEM file of trust anchors the signers must chain to (with --ldif or --ldap: a chain alone does not make a PEC provider)")
	integrity := fs.Bool("integrity-only", false, "check integrity only, without trust (prints INTACT, never OK)")
	archive := fs.Bool("at-signing-time", false, "judge certificates as of each signature's signing time (archived messages), not now")
	if err := fs.Parse(args); err != nil {
		return 2, err
	}
	if fs.NArg() == 0 {
		return 2, fmt.Errorf("verify: no file given")
	}
	opts, err := trust.options()
	if err != nil {
		return 2, err
	}
	if *archive {
		if opts == nil {
			opts = &smime.VerifyOptions{}
		}
		opts.AsOfSigningTime = true
	}
	status := 0
	for _, path := range fs.Args() {
		verdict, why := verifyFile(func() (*message, error) { return load(path, opts) }, *integrity)
		if verdict == "FAIL" {
			status = 1
		}
		fmt.Fprintf(out, "%s: %s %s\n", path, verdict, why)
	}
	return status, nil
}

// verifyFile judges one file. "OK": the signature is intact, made by a
// PEC provider that the index lists (or that was pinned) and that is the
// From address, and the signed content establishes the kind. "INTACT":
// with integrityOnly, the bytes are those that were signed, trust not
// checked. "FAIL" otherwise, trust not checked included: an intact
// signature by anyone is no PEC evidence.
func verifyFile(get func() (*message, error), integrityOnly bool) (verdict, why string) {
	m, err := get()
	if err != nil {
		return "FAIL", err.Error()
	}
	v := m.Signature
	if v == nil {
		return "FAIL", m.Kind.String() + ": not signed"
	}
	var problems []string
	for _, p := range v.Problems {
		if p.Code != smime.ProblemCanonicalized {
			problems = append(problems, p.String())
		}
	}
	for _, p := range m.Problems {
		if errors.Is(p, pec.ErrUnsignedClaim) || errors.Is(p, pec.ErrInconsistent) {
			problems = append(problems, p.Error())
		}
	}
	detail := func(s string) string {
		if len(problems) > 0 {
			s += ": " + strings.Join(problems, "; ")
		}
		return s
	}
	switch {
	case !v.Intact:
		return "FAIL", m.Kind.String() + ": " + detail("not intact")
	case integrityOnly:
		return "INTACT", m.Kind.String() + ": intact, trust not checked, signed by " + v.SignerEmail + " (" + v.Algorithm + ")"
	case !m.OK:
		s := v.Summary()
		if v.OK() {
			s = "signed content does not establish the kind the headers claim"
		}
		return "FAIL", m.Kind.String() + ": " + detail(s)
	}
	s := m.Kind.String() + ": intact, trusted PEC provider " + v.SignerEmail + " (" + v.Algorithm + ")"
	if v.AsOfSigningTime {
		s += ", as of its signing time " + v.At.Format(time.RFC3339)
	}
	if m.Wrapped {
		s += "; found inside a wrapper message: only the attached PEC message is certified, not the wrapper"
	}
	return "OK", s
}
