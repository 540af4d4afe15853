package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The configuration file is made of sections and "key = value" lines:
//
//	# a comment: a line whose first non-blank character is # or ;
//	[section]
//	key = value
//
// Blank lines are ignored, keys are case-insensitive, values are trimmed
// and taken literally (no quoting, no escapes: a # inside a value is part
// of it). A key may appear once per section unless it is a list, whose
// lines add up. Every error names its line.

// maxConfLine bounds a line of the file.
const maxConfLine = 64 << 10

// ErrConfig is matched by every error about the content of a
// configuration file.
var ErrConfig = errors.New("pecd: configuration error")

// ConfigError is an error in a configuration file, with the line it is on
// (0 when it is about the file as a whole, such as a required key that is
// missing).
type ConfigError struct {
	File    string // the file name, "" when not known
	Line    int    // 1-based; 0 for the whole file
	Section string
	Key     string
	Err     error
}

// Error returns "file:line: [section] key: cause".
func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.Section != "" {
		fmt.Fprintf(&b, "[%s] ", e.Section)
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.Err }

// Is makes every ConfigError match ErrConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

// confEntry is one "key = value" line, or a section header (Key "").
type confEntry struct {
	Section, Key, Value string
	Line                int
}

// readConf splits r into entries; it checks the syntax only.
func readConf(r io.Reader) ([]confEntry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxConfLine)
	var out []confEntry
	section := ""
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		if t[0] == '[' {
			if t[len(t)-1] != ']' {
				return nil, &ConfigError{Line: n, Err: errors.New("section header without closing ]")}
			}
			name := strings.ToLower(strings.TrimSpace(t[1 : len(t)-1]))
			if !validName(name) {
				return nil, &ConfigError{Line: n, Err: fmt.Errorf("invalid section name %q", name)}
			}
			section = name
			out = append(out, confEntry{Section: name, Line: n})
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			return nil, &ConfigError{Line: n, Section: section, Err: fmt.Errorf("expected key = value, got %q", clip(t))}
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if !validName(k) {
			return nil, &ConfigError{Line: n, Section: section, Err: fmt.Errorf("invalid key %q", clip(k))}
		}
		if section == "" {
			return nil, &ConfigError{Line: n, Key: k, Err: errors.New("key outside any [section]")}
		}
		out = append(out, confEntry{Section: section, Key: k, Value: strings.TrimSpace(v), Line: n})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &ConfigError{Line: n + 1, Err: fmt.Errorf("line longer than %d bytes", maxConfLine)}
		}
		return nil, err
	}
	return out, nil
}

// validName reports whether s is a section or key name: letters, digits,
// '-', '.', '_', starting with a letter or digit. Route keys are domain
// names, hence the dot.
func validName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '.' || c == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
