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
		"\"a\"@b", "a@b,c@d", "a@@b", "@b", "a@", "Name <a@b>", "à@b", "a!#$%&'*+/=?^_`{|}~-@b"} {
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
