//go:build !unix

package client

import "os"

// lockFile is a no-op where advisory locks are not available.
func lockFile(*os.File) (func(), error) { return func() {}, nil }
