//go:build !linux || mips || mipsle || mips64 || mips64le

package mailbox

import (
	"errors"
	"io/fs"
	"os"
)

// openAnon returns nil: deliveries are written under a name in tmp/.
func openAnon(dir string, perm fs.FileMode) *os.File { return nil }

func anonPath(f *os.File) string { return "" }

func linkAnon(f *os.File, path string) error { return errors.ErrUnsupported }
