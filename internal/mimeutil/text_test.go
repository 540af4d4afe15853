package mimeutil

import (
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestTextAsBody: Text gives what Body gives (go-message's decoding and
// charset conversion), cut at the limit, for the charsets it converts
// itself and for those it leaves to Body.
func TestTextAsBody(t *testing.T) {
	for _, tc := range []struct{ name, header, body string }{
		{"latin1-qp", "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n", "Perch=E8 s=EC, citt=E0=\r\n\r\nfine\r\n"},
		{"latin1-8bit", "Content-Type: text/plain; charset=\"ISO-8859-1\"\r\n", "Perch\xe8 s\xec\r\n"},
		{"utf8-base64", "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n", "UGVyY2jDqSBzw6w=\r\n"},
		{"ascii", "Content-Type: text/plain; charset=us-ascii\r\n", "plain\r\n"},
		{"no-charset", "Content-Type: text/plain\r\n", "caf\xe9\r\n"},
		{"windows-1252", "Content-Type: text/plain; charset=windows-1252\r\n", "euro \x80\r\n"},
		{"unknown", "Content-Type: text/plain; charset=x-sconosciuto\r\n", "perch\xe8\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := tc.header + "\r\n" + tc.body
			p, err := Scan(bytesReaderAt([]byte(msg)), int64(len(msg)), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := p.Body()
			want, _ := io.ReadAll(body)
			for _, limit := range []int{64 << 10, len(want), len(want) - 1, 7, 6} {
				if limit < 0 {
					continue
				}
				w := string(want)
				if len(w) > limit {
					w = w[:limit]
				}
				if got := p.Text(limit); got != w {
					t.Errorf("limit %d: Text %q, Body %q", limit, got, w)
				}
			}
		})
	}
}

// latin1Ref is the byte-at-a-time conversion latin1 replaced.
func latin1Ref(b []byte, limit int) string {
	var sb strings.Builder
	for _, c := range b {
		if c < 0x80 {
			if sb.Len()+1 > limit {
				break
			}
			sb.WriteByte(c)
			continue
		}
		if sb.Len()+2 > limit {
			if sb.Len() < limit {
				sb.WriteByte(0xc0 | c>>6)
			}
			break
		}
		sb.WriteByte(0xc0 | c>>6)
		sb.WriteByte(0x80 | c&0x3f)
	}
	return sb.String()
}

// TestLatin1 compares latin1 with the byte-at-a-time conversion, at every
// limit, on texts mixing ASCII runs of every length with high bytes.
func TestLatin1(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			if rng.IntN(6) == 0 {
				b[i] = byte(0x80 + rng.IntN(128))
			} else {
				b[i] = byte(rng.IntN(128))
			}
		}
		for limit := 0; limit <= 2*len(b)+1; limit++ {
			if got, want := latin1(b, limit), latin1Ref(b, limit); got != want {
				t.Fatalf("latin1(%q, %d) = %q, want %q", b, limit, got, want)
			}
		}
	}
}
