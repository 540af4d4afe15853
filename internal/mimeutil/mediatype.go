package mimeutil

import (
	"mime"
	"strings"
)

// parseMediaTypeStd is mime.ParseMediaType, read in one pass without
// allocating more than the parameter map and lower-cased names when v is
// as mail is written: a type, and parameters whose names are tokens
// without '*' and whose values are tokens or quoted strings without
// escapes. Any other value, and any defect, is left to
// mime.ParseMediaType, so the result is always its result
// (FuzzMediaType compares them).
func parseMediaTypeStd(v string) (string, map[string]string, error) {
	if t, params, ok := fastMediaType(v); ok {
		return t, params, nil
	}
	return mime.ParseMediaType(v)
}

// tokenBytes marks the bytes of an RFC 2045 token.
var tokenBytes = func() (t [256]bool) {
	for c := '!'; c < 0x7f; c++ {
		t[c] = strings.IndexRune(`()<>@,;:\"/[]?=`, c) < 0
	}
	return t
}()

func isTokenByte(c byte) bool { return tokenBytes[c] }

func skipOWS(v string, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
		i++
	}
	return i
}

func token(v string, i int) int {
	for i < len(v) && isTokenByte(v[i]) {
		i++
	}
	return i
}

// lowerASCII lower-cases s, allocating only when it has upper-case
// letters.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

func fastMediaType(v string) (string, map[string]string, bool) {
	i := skipOWS(v, 0)
	start := i
	i = token(v, i)
	if i == start {
		return "", nil, false
	}
	if i < len(v) && v[i] == '/' {
		j := token(v, i+1)
		if j == i+1 {
			return "", nil, false
		}
		i = j
	}
	t := lowerASCII(v[start:i])
	params := make(map[string]string)
	for {
		i = skipOWS(v, i)
		if i == len(v) {
			return t, params, true
		}
		if v[i] != ';' {
			return "", nil, false
		}
		i = skipOWS(v, i+1)
		ks := i
		i = token(v, i)
		if i == ks || strings.IndexByte(v[ks:i], '*') >= 0 {
			return "", nil, false
		}
		key := lowerASCII(v[ks:i])
		i = skipOWS(v, i)
		if i == len(v) || v[i] != '=' {
			return "", nil, false
		}
		i = skipOWS(v, i+1)
		var val string
		if i < len(v) && v[i] == '"' {
			end := strings.IndexByte(v[i+1:], '"')
			if end < 0 {
				return "", nil, false
			}
			val = v[i+1 : i+1+end]
			if strings.ContainsAny(val, "\\\r\n") {
				return "", nil, false
			}
			i += end + 2
		} else {
			vs := i
			i = token(v, i)
			if i == vs {
				return "", nil, false
			}
			val = v[vs:i]
		}
		if _, dup := params[key]; dup {
			return "", nil, false
		}
		params[key] = val
	}
}
