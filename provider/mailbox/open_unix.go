//go:build unix

package mailbox

import (
	"io/fs"
	"os"
	"syscall"
)

// openFile is os.OpenFile for the regular files and directories of the
// package, without registering the descriptor with the runtime's network
// poller: os.OpenFile tries to (an epoll_ctl the kernel refuses for a
// regular file, and fcntl calls before and after it), which cost as much
// processor time as the open itself on the paths that open a file per
// message.
func openFile(path string, flag int, perm fs.FileMode) (*os.File, error) {
	for {
		fd, err := syscall.Open(path, flag|syscall.O_CLOEXEC, uint32(perm.Perm()))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
}
