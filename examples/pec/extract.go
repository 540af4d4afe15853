package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pecmail"
	"github.com/pecsdk/pec/receipt"
)

// cmdExtract extracts one message into -o DIR, or several each into a
// folder of DIR named after its file; an error names its file, and the
// other files are still extracted.
func cmdExtract(args []string, out io.Writer) error {
	fs := newFlagSet("extract")
	dir := fs.String("o", "", "output folder (created if missing); with several files, one folder in it per file")
	files, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *dir == "" || len(files) == 0 {
		return fmt.Errorf("extract: usage: pec extract -o DIR FILE...")
	}
	if len(files) == 1 {
		return extractOne(files[0], *dir, out)
	}
	var errs []error
	folders := newFileNames()
	for _, f := range files {
		sub := folders.unique(safeName(strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))))
		if err := extractOne(f, filepath.Join(*dir, sub), out); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// extractOne extracts the message of path into dir; the error names path.
func extractOne(path, dir string, out io.Writer) error {
	err := extractFile(path, dir, out)
	var pe *os.PathError
	if err != nil && !(errors.As(err, &pe) && pe.Path == path) {
		err = &fileError{path, err}
	}
	return err
}

func extractFile(name, dir string, out io.Writer) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	// One reading: the kind, the certification data, the original and its
	// attachments all come from it.
	msg, err := pecmail.Read(f, nil)
	if err != nil {
		return err
	}
	m := msg.PEC()
	if m == nil || !(m.Kind.IsEnvelope() || m.Kind.IsReceipt()) {
		_, err := receipt.Of(msg) // says why: not PEC, or of no known kind
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if r, err := m.CertData(); err == nil {
		if err := writeFile(dir, pec.CertDataName, r, out); err != nil {
			return err
		}
	}
	if !m.HasOriginal() {
		fmt.Fprintf(out, "%s carries no original message\n", m.Kind)
		return nil
	}
	raw, err := m.Original()
	if err != nil {
		return err
	}
	path := filepath.Join(dir, pec.OriginalName)
	if err := writeFile(dir, pec.OriginalName, raw, io.Discard); err != nil {
		return err
	}
	as, err := m.Attachments()
	if err != nil {
		return fmt.Errorf("original message: %w", err)
	}
	names := newFileNames(pec.OriginalName, pec.CertDataName)
	err = eachAttachment(as, func(a *attachment) error {
		return writeFile(dir, names.unique(safeName(a.Name)), a.Body, out)
	})
	if err != nil {
		return fmt.Errorf("original message: %w", err)
	}
	fmt.Fprintf(out, "wrote %s\n", path)
	return nil
}

// fileNames hands out the names of the files written to one folder, each
// once: a name already taken gets -2, -3, … before its extension
// ("a.pdf", "a-2.pdf", "a-3.pdf").
//
// Every taken name remembers the next suffix to try, so n attachments of
// one name cost O(n) lookups in all, not the O(n²) of retrying from -2
// each time. A candidate "base-k.ext" spells only one (base, k, ext): the
// suffix is the digits after the last '-' before the extension, and the
// extension is all after the last dot. So a name taken in between, such
// as an attachment really called "a-3.pdf", is stepped over once, by the
// one name whose candidates include it.
type fileNames struct {
	used map[string]bool
	next map[string]int // name → the suffix its next duplicate tries first
	// probes counts the lookups in used, so that tests can bound them.
	probes int
}

// newFileNames returns names with reserved already taken.
func newFileNames(reserved ...string) *fileNames {
	n := &fileNames{used: map[string]bool{}, next: map[string]int{}}
	for _, r := range reserved {
		n.used[r] = true
	}
	return n
}

// unique returns name, or the first free name-k.ext after the last one
// given for name, and takes it.
func (n *fileNames) unique(name string) string {
	n.probes++
	if !n.used[name] {
		n.used[name] = true
		return name
	}
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext)
	k := max(n.next[name], 2)
	for {
		c := base + "-" + strconv.Itoa(k) + ext
		k++
		n.probes++
		if !n.used[c] {
			n.used[c] = true
			n.next[name] = k
			return c
		}
	}
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
