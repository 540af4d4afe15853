package mimeutil

import "sync"

// copyBufSize is the size of the buffers of bufPool.
const copyBufSize = 32 << 10

// bufPool holds the buffers that copies and measurements borrow, so that
// reading a message allocates none per part.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, copyBufSize)
	return &b
}}

func getBuf() *[]byte  { return bufPool.Get().(*[]byte) }
func putBuf(b *[]byte) { bufPool.Put(b) }
