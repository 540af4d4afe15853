//go:build !unix

package mailbox

import (
	"io/fs"
	"os"
)

// openFile is os.OpenFile.
func openFile(path string, flag int, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag, perm)
}
