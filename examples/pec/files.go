package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// messageFiles expands the file arguments of inspect and verify: a
// directory stands for the .eml files under it, walked in lexical order
// (a pec fetch folder, a mail export); a file is taken as it is, even
// when it cannot be read, so that its error is reported against its name.
func messageFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil || !fi.IsDir() {
			out = append(out, a)
			continue
		}
		n := len(out)
		err = filepath.WalkDir(a, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && strings.EqualFold(filepath.Ext(path), ".eml") {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(out) == n {
			return nil, fmt.Errorf("%s: a directory without .eml files", a)
		}
	}
	return out, nil
}

// fileError is an error about one file: its path, then the cause.
type fileError struct {
	path string
	err  error
}

func (e *fileError) Error() string { return e.path + ": " + errText(e.err) }
func (e *fileError) Unwrap() error { return e.err }

// errText is the message of err as the tool prints it: the "pec: " of the
// library's errors left out (the tool says it once), on one line.
func errText(err error) string {
	return strings.TrimSpace(strings.TrimPrefix(err.Error(), "pec: "))
}
