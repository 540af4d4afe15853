package mimeutil

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"
)

// headerCases are header blocks as Scan hands them to parseHeader: the
// lines before the empty one, then CRLF.
var headerCases = []struct{ name, in string }{
	{"empty", "\r\n"},
	{"simple", "From: a@b\r\nTo: c@d\r\n\r\n"},
	{"lf", "From: a@b\nTo: c@d\n\r\n"},
	{"folded", "Subject: one\r\n two\r\n\tthree\r\nTo: x\r\n\r\n"},
	{"repeated", "Received: 1\r\nReceived: 2\r\nX-A: a\r\nReceived: 3\r\n\r\n"},
	{"case", "x-tiporicevuta: completa\r\nX-TIPORICEVUTA: breve\r\n\r\n"},
	{"no-colon", "From a@b\r\n\r\n"},
	{"bad-key", "Fr om: a@b\r\n\r\n"},
	{"empty-key", ": nobody\r\nTo: x\r\n\r\n"},
	{"space-before-colon", "Subject : hi\r\n\r\n"},
	{"initial-space", " From: a@b\r\n\r\n"},
	{"cr-inside", "Subject: a\rb\r\n\r\n"},
	{"cr-before-crlf", "Subject: a\r\r\n\r\n"},
	{"no-final-newline", "Subject: a"},
	{"trailing-space-line", "Subject: a\r\n \r\n\r\n"},
	{"eight-bit", "Subject: perch\xe8\r\n\r\n"},
}

// headerDump renders a header field by field, raw bytes included, in
// go-message's order.
func headerDump(h textproto.Header) string {
	var b bytes.Buffer
	for f := h.Fields(); f.Next(); {
		raw, err := f.Raw()
		fmt.Fprintf(&b, "%q=%q raw=%q %v\n", f.Key(), f.Value(), raw, err)
	}
	return b.String()
}

func checkHeader(t *testing.T, in []byte) {
	t.Helper()
	want, werr := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(in)))
	got, gerr := parseHeader(in)
	if (werr != nil) != (gerr != nil) || (werr != nil && werr.Error() != gerr.Error()) {
		t.Fatalf("%q: error %v, go-message %v", in, gerr, werr)
	}
	if werr != nil {
		return
	}
	if g, w := headerDump(got), headerDump(want); g != w {
		t.Errorf("%q:\n got %s\nwant %s", in, g, w)
	}
	fb, _ := splitHeader(nil, in)
	fields := string(fb)
	keys := []string{"From", "Subject", "Received", "X-Tiporicevuta", "To", "content-type", "CONTENT-TRANSFER-ENCODING"}
	for f := want.Fields(); f.Next(); {
		if k := f.Key(); isToken(k) {
			keys = append(keys, k, strings.ToLower(k))
		}
	}
	for _, k := range keys {
		if got.Get(k) != want.Get(k) {
			t.Errorf("%q: Get(%s) = %q, go-message %q", in, k, got.Get(k), want.Get(k))
		}
		// Part.Get reads the fields without a header.
		if g := headerGet(fields, k); g != want.Get(k) {
			t.Errorf("%q: headerGet(%s) = %q, go-message %q", in, k, g, want.Get(k))
		}
	}
	// The scan reads two fields in one pass.
	for i := 1; i < len(keys); i++ {
		k1, k2 := keys[i-1], keys[i]
		if v1, v2 := headerGet2(fields, k1, k2); v1 != want.Get(k1) || !strings.EqualFold(k1, k2) && v2 != want.Get(k2) {
			t.Errorf("%q: headerGet2(%s, %s) = %q, %q, go-message %q, %q", in, k1, k2, v1, v2, want.Get(k1), want.Get(k2))
		}
	}
}

// isToken reports whether k is a non-empty RFC 7230 token: the field
// names Part.Get is asked for.
func isToken(k string) bool {
	for _, c := range []byte(k) {
		if c <= ' ' || c >= 127 || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return k != ""
}

// TestParseHeader: parseHeader reads a header as go-message's ReadHeader.
func TestParseHeader(t *testing.T) {
	for _, tc := range headerCases {
		t.Run(tc.name, func(t *testing.T) { checkHeader(t, []byte(tc.in)) })
	}
}

// FuzzParseHeader: on any input, parseHeader gives go-message's fields,
// values, raw bytes and errors. Seeds: headerCases and the headers of the
// corpus messages.
func FuzzParseHeader(f *testing.F) {
	for _, tc := range headerCases {
		f.Add([]byte(tc.in))
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "*.eml"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if i := bytes.Index(b, []byte("\n\n")); i > 0 {
			b = b[:i+2]
		} else if i := bytes.Index(b, []byte("\r\n\r\n")); i > 0 {
			b = b[:i+4]
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Scan hands over what precedes the first empty line, and CRLF.
		for i := 0; i < len(b); {
			line, n := nextLine(b[i:])
			if len(line) == 0 && (n == 1 || n == 2) && (n == 1 || b[i] == '\r') {
				b = b[:i]
				break
			}
			i += n
		}
		checkHeader(t, append(b, '\r', '\n'))
	})
}

// FuzzRawValue: RawValue.ContainsAny says what strings.ContainsAny says
// of the value Fields gives, for any field value.
func FuzzRawValue(f *testing.F) {
	for _, s := range []string{" a\r\n", " a\r\n b\r\n", " a\rb\r\n", " a\r\n\t\x00\r\n", "\r\n \r\r\n", " a\r\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if !strings.HasSuffix(v, "\n") {
			v += "\r\n"
		}
		for _, chars := range []string{"\r\x00", "\r", "\x00", "\n"} {
			if got, want := RawValue(v).ContainsAny(chars), strings.ContainsAny(fieldValue(v), chars); got != want {
				t.Fatalf("ContainsAny(%q) of %q = %v, the value %q says %v", chars, v, got, fieldValue(v), want)
			}
		}
		if RawValue(v).String() != fieldValue(v) {
			t.Fatalf("String of %q", v)
		}
	})
}
