// Package tamper rewrites what lies outside a message's signature, as an
// attacker relaying a genuine PEC message can: the adversarial tests of
// the envelope, receipt and tool packages forge their inputs with it.
package tamper

import (
	"bytes"
	"errors"
	"regexp"
)

// ErrNoHeader reports a message without the blank line that ends its
// header.
var ErrNoHeader = errors.New("tamper: no end of header")

// SetHeader returns msg with the top-level header field name (folded
// continuation lines included, any case) replaced by "name: value", added
// at the top when absent, or removed when value is "".
func SetHeader(msg []byte, name, value string) ([]byte, error) {
	end := bytes.Index(msg, []byte("\r\n\r\n"))
	if end < 0 {
		return nil, ErrNoHeader
	}
	head, body := msg[:end+2], msg[end+2:]
	re := regexp.MustCompile(`(?im)^` + regexp.QuoteMeta(name) + `:.*\r\n([ \t].*\r\n)*`)
	var line []byte
	if value != "" {
		line = []byte(name + ": " + value + "\r\n")
	}
	if re.Match(head) {
		head = re.ReplaceAllLiteral(head, line)
	} else {
		head = append(append([]byte{}, line...), head...)
	}
	return append(head, body...), nil
}
