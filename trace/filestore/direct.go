package filestore

import (
	"errors"
	"os"
	"syscall"
	"unsafe"
)

// dioBlock is the alignment of direct writes: their offset, their length
// and their buffer's address are multiples of it (4096 covers disks of
// 512- and 4096-byte sectors).
const dioBlock = 4096

// direct is the syncer's direct-I/O writer: the segment it has open with
// O_DIRECT, and the bytes already written of the block its last write
// ended in, which the next write, starting there, writes again, so that
// every write covers whole blocks. A direct write goes to the disk at
// once: the fdatasync that follows has only to flush the disk's cache,
// not to write back pages from the page cache (on a virtual disk, a 24 KB
// commit so took two thirds of the time and half the processor time).
type direct struct {
	disabled bool // Options.NoDirectIO
	sg       *segment
	f        *os.File // sg's file opened with O_DIRECT, or nil: refused
	tail     []byte   // the bytes of [tailOff, tailOff+len(tail)) on disk
	tailOff  int64
	buf      []byte // aligned to dioBlock

	refuse func() bool // for the tests: true makes the next write fail with EINVAL
}

// write writes the frames of chunks, which follow each other from off in
// sg, with direct I/O. It returns false when sg cannot be written that
// way; the caller then writes them through the page cache (again, for the
// part written before the refusal).
func (d *direct) write(sg *segment, off int64, chunks []chunk) (bool, error) {
	if d.disabled || !d.use(sg) {
		return false, nil
	}
	start := off &^ (dioBlock - 1)
	head := int(off - start)
	total := head
	for _, c := range chunks {
		total += len(c.b)
	}
	buf := d.buffer(total)
	if head > 0 {
		if d.tailOff == start && len(d.tail) >= head {
			copy(buf, d.tail[:head])
		} else if _, err := sg.f.ReadAt(buf[:head], start); err != nil { // the first write to sg
			return false, err
		}
	}
	n, pos := head, start
	for _, c := range chunks {
		for b := c.b; len(b) > 0; {
			k := copy(buf[n:], b)
			n, b = n+k, b[k:]
			if n == len(buf) {
				if ok, err := d.put(buf, pos); !ok || err != nil {
					return ok, err
				}
				pos, n = pos+int64(n), 0
			}
		}
	}
	whole := n &^ (dioBlock - 1)
	if n > 0 {
		end := (n + dioBlock - 1) &^ (dioBlock - 1)
		clear(buf[n:end]) // the zeros the segment holds past its frames
		if ok, err := d.put(buf[:end], pos); !ok || err != nil {
			return ok, err
		}
	}
	d.tail = append(d.tail[:0], buf[whole:n]...)
	d.tailOff = pos + int64(whole)
	return true, nil
}

// put writes b at off; false if the file system refuses the alignment.
func (d *direct) put(b []byte, off int64) (bool, error) {
	var err error
	if d.refuse != nil && d.refuse() {
		err = &os.PathError{Op: "write", Path: d.f.Name(), Err: syscall.EINVAL}
	} else {
		_, err = d.f.WriteAt(b, off)
	}
	if err != nil {
		if errors.Is(err, syscall.EINVAL) {
			// Refused, not failed: what was written is what the page
			// cache will write again.
			d.drop()
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// use makes sg the segment open for direct writes, and says whether it
// is.
func (d *direct) use(sg *segment) bool {
	if d.sg == sg {
		return d.f != nil
	}
	d.close()
	d.sg = sg
	d.f = openDirect(sg)
	return d.f != nil
}

// drop stops direct writes to the current segment.
func (d *direct) drop() {
	if d.f != nil {
		d.f.Close()
		d.f = nil
	}
	d.tail = d.tail[:0]
}

// close releases the current segment's direct handle.
func (d *direct) close() {
	d.drop()
	d.sg = nil
}

// buffer returns the aligned write buffer, a multiple of dioBlock long,
// large enough for n bytes rounded up to a block, up to maxRun.
func (d *direct) buffer(n int) []byte {
	want := min((n+dioBlock-1)&^(dioBlock-1), maxRun)
	if len(d.buf) < want {
		raw := make([]byte, want+dioBlock)
		skip := int(-uintptr(unsafe.Pointer(&raw[0])) & (dioBlock - 1))
		d.buf = raw[skip : skip+want]
	}
	return d.buf
}

// openDirect opens sg's file again for direct writes, or returns nil
// when the system or the file system does not do them. The handle must
// name the very file sg.f has open.
func openDirect(sg *segment) *os.File {
	if odirect == 0 || !sg.rw {
		return nil
	}
	f, err := os.OpenFile(sg.path, os.O_WRONLY|odirect, 0)
	if err != nil {
		return nil
	}
	a, err1 := f.Stat()
	b, err2 := sg.f.Stat()
	if err1 != nil || err2 != nil || !os.SameFile(a, b) {
		f.Close()
		return nil
	}
	return f
}
