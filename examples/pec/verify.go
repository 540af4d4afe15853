package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/smime"
)

func cmdVerify(args []string, out, errOut io.Writer) (int, error) {
	fs := newFlagSet("verify")
	trust := addTrustFlags(fs, "PEM file of trust anchors the signers must chain to (with --ldif or --ldap: a chain alone does not make a PEC provider)")
	integrity := fs.Bool("integrity-only", false, "check integrity only, without trust (prints INTACT, never OK)")
	archive := fs.Bool("at-signing-time", false, "judge certificates as of each signature's signing time (archived messages), not now")
	progress := fs.String("progress", "auto", progressUsage)
	files, err := parseArgs(fs, args)
	if err != nil {
		return 2, err
	}
	if len(files) == 0 {
		return 2, fmt.Errorf("verify: no file given")
	}
	pl, err := newProgressLine(errOut, *progress)
	if err != nil {
		return 2, fmt.Errorf("verify: %w", err)
	}
	if files, err = messageFiles(files); err != nil {
		return 2, fmt.Errorf("verify: %w", err)
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
	defer pl.done()
	for i, path := range files {
		verdict, why := verifyFile(func() (*message, error) { return load(path, opts) }, *integrity)
		if verdict == "FAIL" {
			status = 1
		}
		pl.clear()
		fmt.Fprintf(out, "%s: %s %s\n", path, verdict, why)
		pl.show(i+1, len(files), "verifying %d/%d", i+1, len(files))
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
		return "FAIL", errText(err)
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
