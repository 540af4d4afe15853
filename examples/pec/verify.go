package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

func cmdVerify(args []string, out io.Writer) (int, error) {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	trust := addTrustFlags(fs, "PEM file of trust anchors; with it, a file must also be trusted")
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
	status := 0
	for _, path := range fs.Args() {
		ok, why := verifyFile(path, opts != nil, func() (*message, error) { return load(path, opts) })
		if ok {
			fmt.Fprintf(out, "%s: OK %s\n", path, why)
		} else {
			status = 1
			fmt.Fprintf(out, "%s: FAIL %s\n", path, why)
		}
	}
	return status, nil
}

// verifyFile judges one file: intact, and trusted when anchors were given.
func verifyFile(path string, anchors bool, get func() (*message, error)) (bool, string) {
	m, err := get()
	if err != nil {
		return false, err.Error()
	}
	v := m.Signature
	if v == nil {
		return false, m.Kind.String() + ": not signed"
	}
	var why []string
	for _, p := range v.Problems {
		why = append(why, p.String())
	}
	switch {
	case !v.Intact:
		return false, m.Kind.String() + ": not intact: " + strings.Join(why, "; ")
	case anchors && (v.Trusted == nil || !*v.Trusted):
		return false, m.Kind.String() + ": intact but not trusted: " + strings.Join(why, "; ")
	case v.FromMatches != nil && !*v.FromMatches:
		return false, m.Kind.String() + ": signer " + v.SignerEmail + " is not the From address"
	}
	s := m.Kind.String() + ": intact"
	if anchors {
		s += ", trusted"
	}
	s += ", signed by " + v.SignerEmail + " (" + v.Algorithm + ")"
	if m.Wrapped {
		s += "; found inside a wrapper message: only the attached PEC message is certified, not the wrapper"
	}
	return true, s
}
