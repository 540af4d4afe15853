package spool

import (
	"io"
	"os"
	"sync/atomic"
)

// maxOpen bounds the item files a Dir keeps open (entry.file): the items
// being processed, not every item waiting for a retry.
const maxOpen = 256

// itemFile is an item's file kept open, shared by the writes on the item
// and the readers of its body and outputs: closed when the last of them
// lets it go, so that a reader stays usable after Complete and Close.
type itemFile struct {
	f    *os.File
	refs atomic.Int32
}

func newItemFile(f *os.File) *itemFile {
	k := &itemFile{f: f}
	k.refs.Store(1) // the entry's
	return k
}

// acquire takes a reference, unless the file is closed already.
func (k *itemFile) acquire() bool {
	for {
		n := k.refs.Load()
		if n <= 0 {
			return false
		}
		if k.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release lets a reference go, closing the file with the last.
func (k *itemFile) release() error {
	if k.refs.Add(-1) == 0 {
		return k.f.Close()
	}
	return nil
}

// keep reports whether one more item file may be kept open, counting it
// if so; drop releases it.
func (d *Dir) keep() bool {
	if d.files.Add(1) > maxOpen {
		d.files.Add(-1)
		return false
	}
	return true
}

// drop lets go of the file kept open for e, if any. Call with e.mu held,
// or once no write can use e.
func (d *Dir) drop(e *entry) {
	if k := e.file.Swap(nil); k != nil {
		k.release()
		d.files.Add(-1)
	}
}

// read returns a reader of span in e's kept file (path names it in
// errors), or nil when none is kept.
func (e *entry) read(span logSpan, path string) io.ReadCloser {
	k := e.file.Load()
	if k == nil || !k.acquire() {
		return nil
	}
	return &bodyReader{
		r: io.NewSectionReader(k.f, span.off, span.len), c: releaser{k},
		crc: newCRC(), want: span.crc, path: path, off: span.off,
	}
}

// releaser closes a reader of a kept file: it lets the file go.
type releaser struct{ k *itemFile }

func (r releaser) Close() error { return r.k.release() }
