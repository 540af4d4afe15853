package pecmail

import "errors"

// ErrNoOriginal reports a message that carries no original message: a
// receipt without one, or ordinary mail asked for one.
var ErrNoOriginal = errors.New("pecmail: no original message")
