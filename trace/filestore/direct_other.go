//go:build !linux

package filestore

// odirect is zero where direct writes are not used.
const odirect = 0
