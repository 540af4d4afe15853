package pecmsg

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-message/mail"
)

// FuzzSameField: sameField compares the words of strings.Fields, joined.
func FuzzSameField(f *testing.F) {
	for _, s := range [][2]string{{"a  b", "a b"}, {" a\u00a0b ", "a b"}, {"a\u2003b", "a b"}, {"ab", "a b"}, {"\xff a", "\xff  a"}, {"", " "}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		want := strings.Join(strings.Fields(a), " ") == strings.Join(strings.Fields(b), " ")
		if got := sameField(a, b); got != want {
			t.Fatalf("sameField(%q, %q) = %v, want %v", a, b, got, want)
		}
	})
}

// FuzzParseAddressList: parseAddressList gives what go-message's
// ParseAddressList gives.
func FuzzParseAddressList(f *testing.F) {
	for _, s := range []string{"a@b.it", "a.b@c", ".a@b", "a.@b", "a..b@c", "a@b.", "a@[1.2.3.4]", " a@b", "a@b ", "a@b (x)",
		"\"a\"@b", "a@b,c@d", "a@@b", "@b", "a@", "Name <a@b>", "à@b",
		`"Per conto di: a@b.it" <posta-certificata@c.it>`, ` "x" <a@b> `, `""<a@b>`, `"a\"b" <a@b>`, `"=?utf-8?q?x?=" <a@b>`, `"x" <a@b> y`, `"x" <a@b>, c@d`, `"x"  (c) <a@b>`, `"x" <a.@b>`, `"a	b" <a@b>`, "a!#$%&'*+/=?^_`{|}~-@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, gerr := parseAddressList(v)
		want, werr := mail.ParseAddressList(v)
		if (gerr == nil) != (werr == nil) || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("parseAddressList(%q) = %v, %v; go-message %v, %v", v, got, gerr, want, werr)
		}
		if gerr == nil {
			for i := range got {
				if *got[i] != *want[i] {
					t.Fatalf("parseAddressList(%q)[%d] = %+v, go-message %+v", v, i, *got[i], *want[i])
				}
			}
		}
	})
}

// FuzzNormAddr: normAddr is the lower-cased local part and domain
// joined by "@", as it was built before it returned its input as is.
func FuzzNormAddr(f *testing.F) {
	for _, s := range []string{"a@b", "A@b", " <a@b.> ", "\"x\\y\"@B", "ab", "a@b@c", "\xff@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, a string) {
		want := func(a string) string {
			a = strings.Trim(strings.TrimSpace(a), "<>")
			at := strings.LastIndexByte(a, '@')
			if at < 0 {
				return strings.ToLower(a)
			}
			local, domain := a[:at], strings.TrimSuffix(a[at+1:], ".")
			if len(local) >= 2 && local[0] == '"' && local[len(local)-1] == '"' {
				local = unquote(local[1 : len(local)-1])
			}
			if !utf8.ValidString(local) || !utf8.ValidString(domain) {
				return strings.ToLower(a)
			}
			return strings.ToLower(local) + "@" + strings.ToLower(domain)
		}(a)
		if got := normAddr(a); got != want {
			t.Fatalf("normAddr(%q) = %q, want %q", a, got, want)
		}
	})
}

// refScanList is scanList as it was written before valueLexer: it calls fn with the index and byte of each character of an
// address list that stands outside quoted strings, comments and angle
// brackets.
func refScanList(v string, fn func(i int, c byte)) {
	quoted, angle, depth := false, false, 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '"' {
				quoted = false
			}
		case depth > 0:
			if c == '\\' {
				i++
			} else if c == '(' && depth < maxDepth {
				depth++
			} else if c == ')' {
				depth--
			}
		case angle:
			if c == '>' {
				angle = false
			}
		case c == '"':
			quoted = true
		case c == '(':
			depth = 1
		case c == '<':
			angle = true
		default:
			fn(i, c)
		}
	}
}

// refStripComments is stripComments as it was written before valueLexer: it removes the comments (parenthesised, outside quoted
// strings) of an element.
func refStripComments(e string) string {
	if !strings.Contains(e, "(") {
		return e
	}
	var b strings.Builder
	quoted, depth := false, 0
	for i := 0; i < len(e); i++ {
		c := e[i]
		switch {
		case depth > 0:
			if c == '\\' {
				i++
			} else if c == '(' && depth < maxDepth {
				depth++
			} else if c == ')' {
				depth--
			}
			continue
		case quoted:
			if c == '\\' && i+1 < len(e) {
				b.WriteByte(c)
				i++
				c = e[i]
			} else if c == '"' {
				quoted = false
			}
		case c == '"':
			quoted = true
		case c == '(':
			depth = 1
			b.WriteByte(' ')
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// FuzzValueLexer: scanList and stripComments, which read values with
// valueLexer, do what their loops of their own did.
func FuzzValueLexer(f *testing.F) {
	for _, s := range []string{`a (b) c`, `"a (b)" <c(d)> e`, `(a\)b) c`, `"a\"b" (c (d) e) f`, `a\`, `"a\`, `((((`, `<a>b<c`, `"x" (y\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if got, want := stripComments(v), refStripComments(v); got != want {
			t.Fatalf("stripComments(%q) = %q, was %q", v, got, want)
		}
		var got, want []int
		scanList(v, func(i int, c byte) { got = append(got, i, int(c)) })
		refScanList(v, func(i int, c byte) { want = append(want, i, int(c)) })
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("scanList(%q) = %v, was %v", v, got, want)
		}
	})
}
