package pec

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors shared by the SDK, matched with errors.Is.
var (
	// ErrNotPEC reports a message that carries neither X-Trasporto nor X-Ricevuta.
	ErrNotPEC = errors.New("pec: not a PEC message")
	// ErrNoCertData reports a PEC message without its daticert.xml part.
	ErrNoCertData = errors.New("pec: no certification data (daticert.xml)")
	// ErrNoSignature reports a PEC message that is not multipart/signed.
	ErrNoSignature = errors.New("pec: message is not signed")
	// ErrMalformed reports input that is not a well-formed message.
	ErrMalformed = errors.New("pec: malformed message")
	// ErrTooLarge reports input over a size limit of the parser.
	ErrTooLarge = errors.New("pec: input too large")
	// ErrUnsignedClaim reports a header outside the signature (X-Trasporto,
	// X-Ricevuta, X-VerificaSicurezza, From) claiming what the signed
	// content does not establish: the signed content decides, and the
	// message is not to be relied on.
	ErrUnsignedClaim = errors.New("pec: a header outside the signature claims what the signed content does not establish")
	// ErrInconsistent reports certification data that contradicts the headers.
	ErrInconsistent = errors.New("pec: headers and certification data disagree")
)

// ValueError reports a literal that is not one of the values defined for it.
type ValueError struct {
	What  string // what was parsed: a header name, an attribute
	Value string // the value found
}

// Error names the literal and the value found.
func (e *ValueError) Error() string {
	return fmt.Sprintf("pec: invalid %s value %q", e.What, e.Value)
}

// Error is the outcome a PEC notice reports about a message: the errore code
// of its certification data, the extended description, and the recipient it
// concerns. Non-delivery, virus and non-acceptance notices carry one; match
// it with errors.As.
type Error struct {
	Kind      Kind      // the kind of notice that reported it
	Code      ErrorCode // postacert/@errore
	Extended  string    // errore-esteso, often starting with an SMTP enhanced status code
	Recipient string    // consegna: the recipient concerned, when one is named
}

// Error describes the outcome: the notice, the recipient, the code and the
// extended description.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("pec: ")
	if e.Kind.Valid() {
		b.WriteString(e.Kind.Italian())
	} else {
		b.WriteString("error")
	}
	if e.Recipient != "" {
		b.WriteString(" for ")
		b.WriteString(e.Recipient)
	}
	if e.Code != "" {
		b.WriteString(" (errore=")
		b.WriteString(string(e.Code))
		b.WriteString(")")
	}
	if e.Extended != "" {
		b.WriteString(": ")
		b.WriteString(e.Extended)
	}
	return b.String()
}

// Status returns the SMTP enhanced status code (RFC 3463) that providers put
// at the start of the extended description, such as "5.1.1", or "".
func (e *Error) Status() string {
	s := strings.TrimSpace(e.Extended)
	end := 0
	dots := 0
	for end < len(s) && (s[end] == '.' || ('0' <= s[end] && s[end] <= '9')) {
		if s[end] == '.' {
			dots++
		}
		end++
	}
	if dots != 2 || end < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') {
		return ""
	}
	return s[:end]
}

// ParseError reports where in a message parsing failed: the MIME part path
// ("1.2" is the second child of the first part; "" is the top level), the
// header concerned, and the byte offset in the input. It wraps the cause.
type ParseError struct {
	Part   string // MIME part path, "" for the whole message
	Header string // header field name, when the problem is in one
	Offset int64  // byte offset in the input, -1 when unknown
	Err    error  // the cause
}

// Error says where parsing failed and why.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("pec: parse")
	if e.Part != "" {
		b.WriteString(" part ")
		b.WriteString(e.Part)
	}
	if e.Header != "" {
		b.WriteString(" header ")
		b.WriteString(e.Header)
	}
	if e.Offset >= 0 {
		fmt.Fprintf(&b, " at byte %d", e.Offset)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "pec: "))
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }
