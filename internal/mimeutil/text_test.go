package mimeutil

import (
	"io"
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
