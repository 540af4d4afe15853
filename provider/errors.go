package provider

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrConfig reports a Config that lacks a required field.
	ErrConfig = errors.New("provider: incomplete configuration")
	// ErrNoTLS reports a peer that does not offer STARTTLS where PEC
	// requires it (PEC.md §11.6).
	ErrNoTLS = errors.New("provider: peer does not offer STARTTLS")
)

// RouteError says why a domain could not be routed to.
type RouteError struct {
	Domain    string
	Permanent bool // no mail can reach the domain (null MX, no route)
	Err       error
}

// Error names the domain and the cause.
func (e *RouteError) Error() string {
	return fmt.Sprintf("provider: route to %s: %v", e.Domain, e.Err)
}

// Unwrap returns the cause.
func (e *RouteError) Unwrap() error { return e.Err }

// RelayError is a failed SMTP transaction toward another server: the
// address tried, the SMTP reply when there was one, and whether retrying
// is pointless (a 5xx reply).
type RelayError struct {
	Addr      string
	Permanent bool
	Err       error
}

// Error names the server and the cause.
func (e *RelayError) Error() string {
	return fmt.Sprintf("provider: relay to %s: %v", e.Addr, e.Err)
}

// Unwrap returns the cause.
func (e *RelayError) Unwrap() error { return e.Err }
