package trace

import "testing"

// TestEqualID: equalID agrees with comparing NormalizeID forms, on
// brackets, spaces, case in either part, non-ASCII domains and local
// parts, and identifiers without @.
func TestEqualID(t *testing.T) {
	ids := []string{
		"a@b.it", "<a@b.it>", " <a@B.IT> ", "A@b.it", "a@b.itx", "a@b.i", "a@@b.it", "a@b@c.it",
		"a@C@b.it", "a", "<a>", "A", "", "<>", "a@", "@b.it", "a@Perché.it", "a@PERCHÉ.it", "a@perché.it",
		"a@\u212a.it", "a@k.it", "a@K.it", "à@b.it", "À@b.it", "a@b.it\u017f", "a@b.its", "a b@c.it", "ab@c.it",
	}
	for _, a := range ids {
		for _, b := range ids {
			if got, want := equalID(a, b), NormalizeID(a) == NormalizeID(b); got != want {
				t.Errorf("equalID(%q, %q) = %v, NormalizeID forms equal: %v", a, b, got, want)
			}
		}
	}
}
