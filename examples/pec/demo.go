package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pecsdk/pec/sample"
)

// cmdDemo writes the samples to a temporary folder, inspects and verifies
// them against the sample CA, and removes the folder.
func cmdDemo(out io.Writer) (int, error) {
	dir, err := os.MkdirTemp("", "pec-demo-")
	if err != nil {
		return 2, err
	}
	defer os.RemoveAll(dir)
	files, err := writeSamples(dir, timeNow())
	if err != nil {
		return 2, err
	}
	fmt.Fprintf(out, "Wrote a test CA and one signed sample of each of the 14 PEC kinds to %s\n\n", dir)
	var emls []string
	for _, f := range files {
		if strings.HasSuffix(f, ".eml") {
			emls = append(emls, f)
		}
	}
	ca := filepath.Join(dir, "ca.pem")
	if st, err := cmdInspect(append([]string{"--ca", ca}, emls[:1]...), out); err != nil || st != 0 {
		return st, err
	}
	fmt.Fprintf(out, "\n$ pec verify --ca ca.pem *.eml\n")
	if st, err := cmdVerify(append([]string{"--ca", ca}, emls...), out); err != nil || st != 0 {
		return st, err
	}
	// Trust from the provider index instead of a CA: each signer must be a
	// listed certificate of a provider that manages the From domain.
	ldif := filepath.Join(dir, "index.ldif")
	fmt.Fprintf(out, "\n$ pec index lookup --ldif index.ldif %s\n", sample.SenderDomain)
	if st, err := cmdIndex([]string{"lookup", "--ldif", ldif, sample.SenderDomain}, out, out); err != nil || st != 0 {
		return st, err
	}
	fmt.Fprintf(out, "\n$ pec verify --ldif index.ldif *.eml\n")
	return cmdVerify(append([]string{"--ldif", ldif}, emls...), out)
}
