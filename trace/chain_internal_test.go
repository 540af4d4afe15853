package trace

import (
	"bytes"
	"testing"

	"github.com/pecsdk/pec/pec"
)

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

// TestSameID: sameID, with its fast paths, agrees with equalID on every
// pair, the header values trimmed as headerMessageID trims them and also
// wrapped in angle brackets.
func TestSameID(t *testing.T) {
	ids := []string{
		"a@b.it", "<a@b.it>", " <a@B.IT> ", "A@b.it", "a", "<a>", "<>", "<<a@b.it>>", "<a@b.it", "a@b.it>",
		" a@b.it", "a@b.it ", "a@b.it\u00a0", "\u00a0a@b.it", "< a@b.it>", "a b@c.it", "ab@c.it", "a@Perché.it",
		"a@PERCHÉ.it", "<<a>", "a>>", "\ta@b.it", "a@b.it\r",
	}
	for _, a := range ids {
		for _, v := range []string{a, "<" + a + ">"} {
			hv := bytes.TrimSpace([]byte(v))
			for _, b := range ids {
				if got, want := sameID(hv, b), equalID(string(hv), b); got != want {
					t.Errorf("sameID(%q, %q) = %v, equalID: %v", hv, b, got, want)
				}
			}
		}
	}
}

// TestHeaderMessageID: the first Message-ID field of a header, unfolded,
// and the number of them.
func TestHeaderMessageID(t *testing.T) {
	tests := []struct {
		msg string
		id  string
		n   int
	}{
		{"Subject: x\r\n\r\nMessage-ID: <body@x>\r\n", "", 0},
		{"Message-ID: <a@b.it>\r\nSubject: x\r\n\r\nbody", "<a@b.it>", 1},
		{"message-id:   <a@b.it>  \nSubject: x\n\nbody", "<a@b.it>", 1},
		{"MESSAGE-ID : <a@b.it>\r\n\r\n", "<a@b.it>", 1},
		{"Message-ID:\r\n <a@b.it>\r\n\r\n", "<a@b.it>", 1},
		{"Message-ID: <a@\r\n\tb.it>\r\nX: y\r\n\r\n", "<a@ b.it>", 1},
		{"Message-ID: <a@b.it>\r\nMessage-ID: <c@d.it>\r\n\r\n", "<a@b.it>", 2},
		{"Message-IDs: <a@b.it>\r\nMessage: x\r\nM: y\r\n\r\n", "", 0},
		{"X: y\r\n continued\r\nMessage-ID: <a@b.it>", "<a@b.it>", 1},
		{"", "", 0},
	}
	for _, tt := range tests {
		id, n := headerMessageID([]byte(tt.msg))
		if string(id) != tt.id || n != tt.n {
			t.Errorf("headerMessageID(%q) = %q, %d; want %q, %d", tt.msg, id, n, tt.id, tt.n)
		}
	}
}

// TestBlankID: blankID agrees with NormalizeMsgID.
func TestBlankID(t *testing.T) {
	for _, s := range []string{"", " ", "<", ">", "<>", " < > ", "<<>>", "a", ">a", "<a", "a>", " a", "\u00a0", "\u00a0a", "\x7f", "\t<\t>\t", "> <"} {
		if got, want := blankID(s), pec.NormalizeMsgID(s) == ""; got != want {
			t.Errorf("blankID(%q) = %v, want %v", s, got, want)
		}
	}
}

// FuzzHeaderMessageID: any bytes, as the header of a kept message: no
// panic, the value trimmed, and the fast comparisons of Validate agree
// with the general ones.
func FuzzHeaderMessageID(f *testing.F) {
	f.Add([]byte("Message-ID: <a@b.it>\r\nSubject: x\r\n\r\nbody"), "a@b.it")
	f.Add([]byte("message-id:\r\n <a@\r\n\tB.IT>\r\nMessage-ID: <c@d>\r\n\r\n"), "<a@b.it>")
	f.Add([]byte("X: y\n continued\nMessage-ID:  <<a>>  \n"), "<a>")
	f.Fuzz(func(t *testing.T, msg []byte, id string) {
		v, n := headerMessageID(msg)
		if n < 0 || n == 0 && len(v) > 0 {
			t.Fatalf("headerMessageID = %q, %d", v, n)
		}
		if !bytes.Equal(v, bytes.TrimSpace(v)) {
			t.Fatalf("value %q not trimmed", v)
		}
		if got, want := sameID(v, id), equalID(string(v), id); got != want {
			t.Fatalf("sameID(%q, %q) = %v, equalID %v", v, id, got, want)
		}
		if got, want := blankID(id), pec.NormalizeMsgID(id) == ""; got != want {
			t.Fatalf("blankID(%q) = %v, want %v", id, got, want)
		}
	})
}
