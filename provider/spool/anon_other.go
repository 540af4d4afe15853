//go:build !linux || mips || mipsle || mips64 || mips64le

package spool

import (
	"errors"
	"os"
)

// openAnon returns nil: files are written under a temporary name.
func openAnon(dir string) *os.File { return nil }

func linkAnon(f *os.File, path string) error { return errors.ErrUnsupported }
