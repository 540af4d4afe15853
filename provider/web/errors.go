package web

import "errors"

// Sentinel errors of the package, matched with errors.Is.
var (
	// ErrClosed reports a use of a closed server.
	ErrClosed = errors.New("web: server closed")
	// ErrLoginTokens reports a LoginToken asked of a server whose
	// Options.LoginTokens is off.
	ErrLoginTokens = errors.New("web: login tokens not enabled")
)
