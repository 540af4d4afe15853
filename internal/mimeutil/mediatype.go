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

// fastMediaType is mime.ParseMediaType for the values walkMediaType
// reads: ok is false for the others.
func fastMediaType(v string) (string, map[string]string, bool) {
	params := make(map[string]string)
	t, ok := walkMediaType(v, func(k, val string) { params[lowerASCII(k)] = val })
	if !ok {
		return "", nil, false
	}
	return t, params, true
}

// mediaParam returns the parameter name (lower-case) of the media type
// value v as mime.ParseMediaType reads it, without a map: found says
// whether v has it. ok is false when walkMediaType cannot read v.
func mediaParam(v, name string) (val string, found, ok bool) {
	_, ok = walkMediaType(v, func(k, pv string) {
		if !found && strings.EqualFold(k, name) {
			val, found = pv, true
		}
	})
	return val, found && ok, ok
}

// maxFastParams bounds the parameters walkMediaType reads; more are left
// to mime.ParseMediaType.
const maxFastParams = 8

// walkMediaType reads v in one pass as mime.ParseMediaType would, when v
// is a type, then parameters whose names are tokens without '*' (each
// once) and whose values are tokens or quoted strings without escapes or
// line breaks: it returns the type lower-cased and calls fn (when not
// nil) with each parameter, its name as written. ok is false, and fn
// should be disregarded, for any other v.
func walkMediaType(v string, fn func(key, val string)) (string, bool) {
	i := skipOWS(v, 0)
	start := i
	i = token(v, i)
	if i == start {
		return "", false
	}
	if i < len(v) && v[i] == '/' {
		j := token(v, i+1)
		if j == i+1 {
			return "", false
		}
		i = j
	}
	t := lowerASCII(v[start:i])
	var seen [maxFastParams]string
	n := 0
	for {
		i = skipOWS(v, i)
		if i == len(v) {
			return t, true
		}
		if v[i] != ';' {
			return "", false
		}
		i = skipOWS(v, i+1)
		ks := i
		i = token(v, i)
		if i == ks || strings.IndexByte(v[ks:i], '*') >= 0 {
			return "", false
		}
		key := v[ks:i]
		i = skipOWS(v, i)
		if i == len(v) || v[i] != '=' {
			return "", false
		}
		i = skipOWS(v, i+1)
		var val string
		if i < len(v) && v[i] == '"' {
			end := strings.IndexByte(v[i+1:], '"')
			if end < 0 {
				return "", false
			}
			val = v[i+1 : i+1+end]
			if strings.ContainsAny(val, "\\\r\n") {
				return "", false
			}
			i += end + 2
		} else {
			vs := i
			i = token(v, i)
			if i == vs {
				return "", false
			}
			val = v[vs:i]
		}
		if n == len(seen) {
			return "", false
		}
		for _, k := range seen[:n] {
			if strings.EqualFold(k, key) {
				return "", false
			}
		}
		seen[n] = key
		n++
		if fn != nil {
			fn(key, val)
		}
	}
}
