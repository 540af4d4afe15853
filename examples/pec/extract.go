package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pecsdk/pec/pec"
)

func cmdExtract(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("extract", flag.ContinueOnError)
	dir := fs.String("o", "", "output folder (created if missing)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || fs.NArg() != 1 {
		return fmt.Errorf("extract: usage: pec extract -o DIR FILE")
	}
	m, err := load(fs.Arg(0), nil)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	if r, err := m.certData(); err == nil {
		if err := writeFile(*dir, pec.CertDataName, r, out); err != nil {
			return err
		}
	}
	if !m.hasOriginal {
		fmt.Fprintf(out, "%s carries no original message\n", m.Kind)
		return nil
	}
	raw, err := m.originalRaw()
	if err != nil {
		return err
	}
	// One pass: postacert.eml is written from the stream the parts are read from.
	path := filepath.Join(*dir, pec.OriginalName)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tee := io.TeeReader(raw, f)
	used := map[string]bool{pec.OriginalName: true, pec.CertDataName: true}
	_, err = walkAttachments(tee, func(a *attachment) error {
		return writeFile(*dir, uniqueName(safeName(a.Name), used), a.Body, out)
	})
	if err != nil {
		return fmt.Errorf("original message: %w", err)
	}
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s\n", path)
	return nil
}

func uniqueName(name string, used map[string]bool) string {
	base, ext := name, filepath.Ext(name)
	base = strings.TrimSuffix(base, ext)
	for i := 2; used[name]; i++ {
		name = fmt.Sprintf("%s-%d%s", base, i, ext)
	}
	used[name] = true
	return name
}

// writeFile writes r to dir/name, refusing names that leave dir.
func writeFile(dir, name string, r io.Reader, out io.Writer) error {
	path := filepath.Join(dir, safeName(name))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s\n", path)
	return nil
}

// safeName keeps the last element of an attachment name, without path
// separators, dots-only names or control characters.
func safeName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == '/' || r == '\\' || r == 0x7f {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "" || strings.Trim(name, ".") == "" {
		return "allegato"
	}
	return name
}
