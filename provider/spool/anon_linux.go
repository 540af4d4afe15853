//go:build linux && !mips && !mipsle && !mips64 && !mips64le

package spool

import (
	"os"
	"strconv"
	"sync"
	"syscall"
	"unsafe"
)

// oTmpfile is O_TMPFILE (__O_TMPFILE|O_DIRECTORY), which package
// syscall lacks; __O_TMPFILE is 020000000 on the architectures of this
// file's build constraint.
const oTmpfile = 0o20000000 | syscall.O_DIRECTORY

// procFD reports whether /proc/self/fd is there, for linkAnon.
var procFD = sync.OnceValue(func() bool {
	_, err := os.Stat("/proc/self/fd")
	return err == nil
})

// openAnon opens a new file without a name in dir, for reading and
// writing (a Dir keeps it, see entry.file), or returns nil where
// the kernel, the file system or the absence of /proc do not allow it.
func openAnon(dir string) *os.File {
	if !procFD() {
		return nil
	}
	fd, err := syscall.Open(dir, oTmpfile|syscall.O_RDWR|syscall.O_CLOEXEC, fileMode)
	if err != nil {
		return nil
	}
	return os.NewFile(uintptr(fd), dir)
}

// linkAnon gives the file f of openAnon the name path (linkat with
// AT_SYMLINK_FOLLOW through /proc, which needs no privilege, unlike
// AT_EMPTY_PATH). It fails when path exists.
func linkAnon(f *os.File, path string) error {
	old := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	o, err := syscall.BytePtrFromString(old)
	if err != nil {
		return err
	}
	n, err := syscall.BytePtrFromString(path)
	if err != nil {
		return err
	}
	const atFDCWD, atSymlinkFollow = ^uintptr(99), 0x400 // -100
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_LINKAT, atFDCWD, uintptr(unsafe.Pointer(o)), atFDCWD, uintptr(unsafe.Pointer(n)), atSymlinkFollow, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return &os.LinkError{Op: "link", Old: old, New: path, Err: e}
		}
		return nil
	}
}
