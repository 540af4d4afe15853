package filestore

import (
	"strings"
	"testing"
)

// TestKey: the one-pass key of the common forms is the key of the
// general path, which normalises first, for every form.
func TestKey(t *testing.T) {
	var ix indexes
	ix.init()
	forms := []string{
		"", "<", ">", "<>", "<<>>", "a", "A", "<a>", "<<a>>", "<a", "a>", "a@b.it", "<A@B.IT>", "opec.1@pec.it",
		"Utente1@Pec.Mittente.IT", " a@b.it", "a@b.it ", "<a@b.it >", "< a@b.it>", "a b@c.it", "a\tb@c.it",
		"a@b.it\u00a0", "a@Perché.it", "à@b.it", "a@\u212a.it", "a\x7f@b.it", "a\x00@b.it", "<<a@b.it>",
		strings.Repeat("x", 128), strings.Repeat("X", 129), "<" + strings.Repeat("y", 128) + ">",
	}
	for _, s := range forms {
		h, ok := ix.key(s)
		wh, wok := ix.normKey(s)
		if h != wh || ok != wok {
			t.Errorf("key(%q) = %x, %v; the normalised key is %x, %v", s, h, ok, wh, wok)
		}
	}
}

// FuzzKey: the one-pass key agrees with the normalised one on any input.
func FuzzKey(f *testing.F) {
	var ix indexes
	ix.init()
	for _, s := range []string{"<A@b.it>", "a b", "<<a>>", "à@b.it", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := ix.key(s)
		wh, wok := ix.normKey(s)
		if h != wh || ok != wok {
			t.Fatalf("key(%q) = %x, %v; normalised %x, %v", s, h, ok, wh, wok)
		}
	})
}
