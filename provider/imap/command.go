package imap

import (
	"bytes"
	"errors"
	"strings"
)

// The recogniser of the commands this package answers in front of
// imapserver (quota.go): it reads the client's bytes as RFC 3501 §9 lays
// them out, without interpreting anything else.

// Errors of the command recogniser: a command it cannot read is answered
// BAD.
var (
	errSyntax  = errors.New("imap: command syntax error")
	errTooLong = errors.New("imap: command too long")
)

const (
	// maxOwnLine bounds a line read before it is known whether the
	// command is one of ours: a longer one goes to imapserver as it is.
	maxOwnLine = 8 << 10
	// maxOwnLiteral bounds a literal in one of our commands, as
	// imapserver bounds those of its commands other than APPEND.
	maxOwnLiteral = 4096
	// maxSyncLiteral is the largest non-synchronising literal imapserver
	// accepts (LITERAL-, RFC 7888): past it, it refuses the literal and
	// reads what follows as commands.
	maxSyncLiteral = 4096
)

// isAtomChar reports whether c may appear in an atom (RFC 3501 §9:
// ATOM-CHAR), ']' included as in an astring.
func isAtomChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	switch c {
	case '(', ')', '{', '%', '*', '"', '\\':
		return false
	}
	return true
}

// isWireAtomChar reports whether imapserver reads c as part of an atom,
// as it reads tags and command names: a few more bytes than RFC 3501's
// ATOM-CHAR ('+', and Latin-1 letters).
func isWireAtomChar(c byte) bool {
	switch c {
	case '(', ')', '{', ' ', '%', '*', '"', '\\', ']':
		return false
	}
	return c >= 0x20 && c != 0x7f && (c < 0x80 || c >= 0xa0)
}

// commandName returns the tag and the upper-cased name of the command
// line begins with (a "UID" prefix is not joined), and ok false when the
// line does not begin with "tag SP name" followed by SP or the line's end.
func commandName(line []byte) (tag, name string, ok bool) {
	i := 0
	for i < len(line) && isWireAtomChar(line[i]) {
		i++
	}
	if i == 0 || i >= len(line) || line[i] != ' ' {
		return "", "", false
	}
	tag = string(line[:i])
	j := i + 1
	for j < len(line) && isWireAtomChar(line[j]) {
		j++
	}
	if j == i+1 {
		return "", "", false
	}
	if j < len(line) && line[j] != ' ' && line[j] != '\r' && line[j] != '\n' {
		return "", "", false
	}
	return tag, strings.ToUpper(string(line[i+1 : j])), true
}

// literalAt reports whether line, which ends with LF, announces a
// literal: "{n}" or "{n+}" just before its CRLF (or bare LF). It is
// looked for at the end of every line, whatever the grammar, as
// imapserver's decoder takes one wherever a string may be.
func literalAt(line []byte) (n int64, nonSync, ok bool) {
	l := bytes.TrimSuffix(line, []byte("\n"))
	l = bytes.TrimSuffix(l, []byte("\r"))
	if len(l) < 3 || l[len(l)-1] != '}' {
		return 0, false, false
	}
	l = l[:len(l)-1]
	if l[len(l)-1] == '+' {
		nonSync = true
		l = l[:len(l)-1]
	}
	open := bytes.LastIndexByte(l, '{')
	digits := l[open+1:]
	if open < 0 || len(digits) == 0 || len(digits) > 18 {
		return 0, false, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, nonSync, true
}

// ownCommand is one of the commands answered in front of imapserver.
type ownCommand struct {
	tag  string
	name string   // upper case
	args []string // the astrings that follow, decoded from their quoting
}

// parseOwn reads a whole command as sent: the tag, the name, then
// astrings (atoms, quoted strings or literals, their "{n}" CRLF and n
// bytes inline) separated by SP, then CRLF.
func parseOwn(cmd []byte) (ownCommand, error) {
	var c ownCommand
	line := cmd
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i+1]
	}
	tag, name, ok := commandName(line)
	if !ok {
		return c, errSyntax
	}
	c.tag, c.name = tag, name
	p := cmd[len(tag)+1+len(name):]
	for {
		switch {
		case bytes.Equal(p, []byte("\r\n")) || bytes.Equal(p, []byte("\n")):
			return c, nil
		case len(p) < 2 || p[0] != ' ':
			return c, errSyntax
		}
		if len(c.args) == 4 {
			return c, errSyntax
		}
		s, rest, err := astring(p[1:])
		if err != nil {
			return c, err
		}
		c.args = append(c.args, s)
		p = rest
	}
}

// astring reads an atom, a quoted string or a literal at the start of p.
func astring(p []byte) (s string, rest []byte, err error) {
	switch {
	case len(p) == 0:
		return "", nil, errSyntax
	case p[0] == '"':
		var b []byte
		for i := 1; i < len(p); i++ {
			switch c := p[i]; c {
			case '"':
				return string(b), p[i+1:], nil
			case '\\':
				if i+1 >= len(p) || (p[i+1] != '"' && p[i+1] != '\\') {
					return "", nil, errSyntax
				}
				i++
				b = append(b, p[i])
			case '\r', '\n', 0:
				return "", nil, errSyntax
			default:
				b = append(b, c)
			}
		}
		return "", nil, errSyntax
	case p[0] == '{':
		end := bytes.IndexByte(p, '\n')
		if end < 0 {
			return "", nil, errSyntax
		}
		n, _, ok := literalAt(p[:end+1])
		if !ok || bytes.LastIndexByte(p[:end], '{') != 0 || n > maxOwnLiteral || int64(len(p)-end-1) < n {
			return "", nil, errSyntax
		}
		body := p[end+1 : end+1+int(n)]
		return string(body), p[end+1+int(n):], nil
	}
	i := 0
	for i < len(p) && isAtomChar(p[i]) {
		i++
	}
	if i == 0 {
		return "", nil, errSyntax
	}
	return string(p[:i]), p[i:], nil
}

// quoteAString writes s as an atom when it can be one, else as a quoted
// string, else as a literal.
func quoteAString(b []byte, s string) []byte {
	atom := s != "" && !strings.EqualFold(s, "NIL")
	quotable := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAtomChar(c) {
			atom = false
		}
		if c == '\r' || c == '\n' || c == 0 || c >= 0x80 {
			quotable = false
		}
	}
	switch {
	case atom:
		return append(b, s...)
	case quotable:
		b = append(b, '"')
		for i := 0; i < len(s); i++ {
			if s[i] == '"' || s[i] == '\\' {
				b = append(b, '\\')
			}
			b = append(b, s[i])
		}
		return append(b, '"')
	}
	b = append(b, '{')
	b = appendInt(b, int64(len(s)))
	b = append(b, "}\r\n"...)
	return append(b, s...)
}

func appendInt(b []byte, n int64) []byte {
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(b, d[i:]...)
}

// folderName returns the folder a mailbox name as sent designates:
// INBOX in any case is INBOX (RFC 3501 §5.1). Folders are printable
// ASCII without '&' (package mailbox), so a name in modified UTF-7
// (§5.1.3) designates none and is left as it is.
func folderName(s string) string {
	if strings.EqualFold(s, "INBOX") {
		return "INBOX"
	}
	return s
}

// fetchCommand reports whether line, whose tag and name commandName
// read, is a FETCH or a UID FETCH.
func fetchCommand(line []byte, tag, name string) bool {
	if name == "FETCH" {
		return true
	}
	rest := line[min(len(line), len(tag)+1+len(name)):]
	if len(rest) < 6 || rest[0] != ' ' {
		return false
	}
	_, sub, ok := commandName(append([]byte("t"), rest...))
	return ok && sub == "FETCH"
}
