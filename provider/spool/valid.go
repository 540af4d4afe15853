package spool

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Limits on what a spool accepts.
const (
	// MaxIDLen is the longest item ID.
	MaxIDLen = 128
	// MaxStepLen is the longest step name.
	MaxStepLen = 256
	// MaxEnvelope bounds an item's envelope (every string of the Item
	// together) and a retry's cause.
	MaxEnvelope = 1 << 20
)

// ValidID reports whether id can name an item: 1 to MaxIDLen bytes of
// ASCII letters, digits and "-_.@+=", starting with a letter or a digit
// (so that it can name a file, and no path such as "../x").
func ValidID(id string) error {
	if id == "" {
		return invalid("ID", id, "empty")
	}
	if len(id) > MaxIDLen {
		return invalid("ID", id, fmt.Sprintf("%d bytes, longer than %d", len(id), MaxIDLen))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if i == 0 && !alnum {
			return invalid("ID", id, "does not start with a letter or a digit")
		}
		if !alnum && c != '-' && c != '_' && c != '.' && c != '@' && c != '+' && c != '=' {
			return invalid("ID", id, fmt.Sprintf("byte %d is %q, outside letters, digits and -_.@+=", i, c))
		}
	}
	return nil
}

// validStep checks a step name: 1 to MaxStepLen bytes of UTF-8 without
// control characters.
func validStep(step string) error {
	if step == "" {
		return invalid("step", step, "empty")
	}
	if len(step) > MaxStepLen {
		return invalid("step", step, fmt.Sprintf("%d bytes, longer than %d", len(step), MaxStepLen))
	}
	if !utf8.ValidString(step) {
		return invalid("step", step, "not valid UTF-8")
	}
	for i, r := range step {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return invalid("step", step, fmt.Sprintf("control character at byte %d", i))
		}
	}
	return nil
}

// validText checks a string of an envelope: valid UTF-8 without NUL.
func validText(field, s string) error {
	if !utf8.ValidString(s) {
		return invalid(field, s, "not valid UTF-8")
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return invalid(field, s, fmt.Sprintf("NUL byte at %d", i))
		}
	}
	return nil
}

// validItem checks an item before Put.
func validItem(it *Item) error {
	if it == nil {
		return invalid("Item", "", "nil")
	}
	if err := ValidID(it.ID); err != nil {
		return err
	}
	n := 0
	check := func(field, s string) error {
		n += len(s)
		return validText(field, s)
	}
	for _, f := range []struct{ name, v string }{
		{"Item.Role", string(it.Role)}, {"Item.From", it.From}, {"Item.User", it.User},
		{"Item.Peer", it.Peer}, {"Item.Helo", it.Helo},
	} {
		if err := check(f.name, f.v); err != nil {
			return err
		}
	}
	for i, to := range it.To {
		if err := check("Item.To["+strconv.Itoa(i)+"]", to); err != nil {
			return err
		}
	}
	for k, v := range it.Meta {
		if err := check("Item.Meta key", k); err != nil {
			return err
		}
		if err := check("Item.Meta["+strconv.Quote(k)+"]", v); err != nil {
			return err
		}
	}
	if n > MaxEnvelope {
		return invalid("Item", it.ID, fmt.Sprintf("envelope of %d bytes, over %d", n, MaxEnvelope))
	}
	if y := it.Received.Year(); !it.Received.IsZero() && (y < 1 || y > 9999) {
		return invalid("Item.Received", it.Received.String(), "year outside 1 to 9999")
	}
	return nil
}

// validRetry checks a retry's cause and time.
func validRetry(next time.Time, cause string) error {
	if len(cause) > MaxEnvelope {
		return invalid("cause", cause, fmt.Sprintf("%d bytes, over %d", len(cause), MaxEnvelope))
	}
	if y := next.Year(); y < 1 || y > 9999 {
		return invalid("next", next.String(), "year outside 1 to 9999")
	}
	return validText("cause", cause)
}
