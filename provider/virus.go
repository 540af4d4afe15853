package provider

import (
	"bytes"
	"context"
)

// Scanner checks a message for viruses (PEC.md §11.1 item 9, §11.2). Scan
// returns the name of what it found, "" when the message is clean; the error
// is for a scan that could not be made, and the message is then tried again
// later.
type Scanner interface {
	Scan(ctx context.Context, msg []byte) (name string, err error)
}

// EICAR is the default Scanner: it finds the EICAR anti-virus test string
// (www.eicar.org) anywhere in the raw message, and nothing else.
type EICAR struct{}

// eicar is the 68-byte EICAR test string.
var eicar = []byte(`X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`)

// eicarB64 is the start of the test string encoded in base64 at the start of
// a line, as a mail client attaches it.
var eicarB64 = []byte("WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNU")

// Scan implements Scanner.
func (EICAR) Scan(_ context.Context, msg []byte) (string, error) {
	if bytes.Contains(msg, eicar) || bytes.Contains(msg, eicarB64) {
		return "EICAR-Test-File", nil
	}
	return "", nil
}
