package pecmsg

import (
	"strings"
	"testing"
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
