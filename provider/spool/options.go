package spool

import (
	"log/slog"
	"time"
)

// Options configures a spool. A nil *Options, and every zero field, means
// the default.
type Options struct {
	// Now is the clock that dates an item put with a zero Received.
	// Nil: time.Now.
	Now func() time.Time
	// Logger receives what Open repaired or found damaged. Nil: silent.
	Logger *slog.Logger
}

func (o *Options) now() func() time.Time {
	if o == nil || o.Now == nil {
		return time.Now
	}
	return o.Now
}

func (o *Options) logger() *slog.Logger {
	if o == nil || o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}
