//go:build !unix

package filestore

import "time"

// cpuTime is zero where the process's processor time is not read.
func cpuTime() time.Duration { return 0 }
