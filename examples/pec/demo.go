package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pecsdk/pec/sample"
)

// cmdDemo writes the samples to a folder, inspects and verifies them
// against the sample CA and provider index. Without -o the folder is
// temporary, removed at the end, and the output says so; with -o it is
// kept.
func cmdDemo(args []string, out io.Writer) (int, error) {
	fs := newFlagSet("demo")
	keep := fs.String("o", "", "write the samples to this folder and keep it (default: a temporary folder, removed at the end)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return 2, err
	}
	if len(pos) > 0 {
		return 2, fmt.Errorf("demo: unexpected argument %q", pos[0])
	}
	dir := *keep
	where := "the temporary folder %s (removed when the demo ends; pec demo -o DIR keeps it)"
	if dir == "" {
		if dir, err = os.MkdirTemp("", "pec-demo-"); err != nil {
			return 2, err
		}
		defer os.RemoveAll(dir)
	} else {
		where = "%s"
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 2, err
		}
	}
	files, err := writeSamples(dir, timeNow())
	if err != nil {
		return 2, err
	}
	fmt.Fprintf(out, "Wrote a test CA and one signed sample of each of the 14 PEC kinds to "+where+"\n\n", dir)
	var emls []string
	for _, f := range files {
		if strings.HasSuffix(f, ".eml") {
			emls = append(emls, f)
		}
	}
	ca := filepath.Join(dir, "ca.pem")
	ldif := filepath.Join(dir, "index.ldif")
	if st, err := cmdInspect(append([]string{"--ldif", ldif}, emls[:1]...), out, io.Discard); err != nil || st != 0 {
		return st, err
	}
	// A PEC provider is a signer the provider index lists, for the domain
	// of the From address; the CA adds the check that its chain is valid.
	fmt.Fprintf(out, "\n$ pec verify --ca ca.pem --ldif index.ldif *.eml\n")
	if st, err := cmdVerify(append([]string{"--ca", ca, "--ldif", ldif}, emls...), out, io.Discard); err != nil || st != 0 {
		return st, err
	}
	fmt.Fprintf(out, "\n$ pec index lookup --ldif index.ldif %s\n", sample.SenderDomain)
	if st, err := cmdIndex([]string{"lookup", "--ldif", ldif, sample.SenderDomain}, out, out); err != nil || st != 0 {
		return st, err
	}
	fmt.Fprintf(out, "\n$ pec verify --ldif index.ldif *.eml\n")
	return cmdVerify(append([]string{"--ldif", ldif}, emls...), out, io.Discard)
}
