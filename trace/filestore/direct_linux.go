package filestore

import "syscall"

// odirect is the open flag of direct I/O.
const odirect = syscall.O_DIRECT
