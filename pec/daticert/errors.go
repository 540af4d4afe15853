package daticert

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors of the package, matched with errors.Is. Parse and
// Unmarshal return them wrapped in a *ParseError; they also wrap
// pec.ErrTooLarge for input over MaxSize and pec.ErrMalformed for input that
// is not well-formed XML (together with the *xml.SyntaxError, when there is
// one).
var (
	// ErrNotDaticert reports well-formed XML whose root element is not postacert.
	ErrNotDaticert = errors.New("daticert: root element is not postacert")
	// ErrMissing reports a required element or attribute that is absent.
	ErrMissing = errors.New("daticert: missing required element or attribute")
	// ErrDuplicate reports an element the DTD allows once that occurs again.
	ErrDuplicate = errors.New("daticert: repeated element")
	// ErrTooDeep reports elements nested deeper than MaxDepth.
	ErrTooDeep = errors.New("daticert: elements nested too deep")
)

// ParseError reports where parsing daticert.xml failed and why. Path names
// the element or attribute from the root, as "postacert/dati/identificativo"
// or "postacert/intestazione/destinatari[2]/@tipo" (1-based index for
// repeated elements); it is "" for problems of the whole document. Offset is
// the byte offset of the element concerned in the UTF-8 input (after
// conversion from a declared Latin encoding), or -1 when unknown. Err is the
// cause: one of the sentinels above, pec.ErrTooLarge, pec.ErrMalformed, or a
// *pec.ValueError for a literal outside its enumeration.
type ParseError struct {
	Path   string
	Offset int64
	Err    error
}

// Error returns the path, the offset and the cause.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("daticert: ")
	b.WriteString(e.Path)
	if e.Offset >= 0 {
		if e.Path != "" {
			b.WriteByte(' ')
		}
		b.WriteString("at byte ")
		b.WriteString(strconv.FormatInt(e.Offset, 10))
	}
	if e.Err != nil {
		if e.Path != "" || e.Offset >= 0 {
			b.WriteString(": ")
		}
		msg := e.Err.Error()
		msg = strings.TrimPrefix(msg, "daticert: ")
		msg = strings.TrimPrefix(msg, "pec: ")
		b.WriteString(msg)
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }

// ValidationError lists every reason why Data is not valid certification
// data; Validate and Marshal return it. Each problem starts with the path of
// the element or attribute concerned.
type ValidationError struct {
	Problems []string
}

// Error joins the problems.
func (e *ValidationError) Error() string {
	if len(e.Problems) == 0 {
		return "daticert: invalid data"
	}
	return "daticert: invalid data: " + strings.Join(e.Problems, "; ")
}
