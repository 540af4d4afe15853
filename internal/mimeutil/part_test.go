package mimeutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
)

// partCases are parts whose names and dispositions go-message reads in
// its own ways: RFC 2231 and RFC 2047, quoted, malformed.
var partCases = []string{
	"Content-Type: application/pdf; name=\"a.pdf\"\r\nContent-Disposition: attachment; filename=\"b.pdf\"\r\n\r\nx",
	"Content-Type: application/pdf; name=\"=?UTF-8?Q?fattura_=C3=A8.pdf?=\"\r\n\r\nx",
	"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename*=UTF-8''%C3%A8.pdf\r\n\r\nx",
	"Content-Type: application/pdf\r\nContent-Disposition: attachment;\r\n filename*0=\"a\"; filename*1=\"b.pdf\"\r\n\r\nx",
	"Content-Type: application/pdf; name=\"=?ISO-8859-1?Q?caf=E8.pdf?=\"\r\n\r\nx",
	"Content-Type: application/pdf; name=\"=?X-UNKNOWN?Q?a.pdf?=\"\r\n\r\nx",
	"Content-Type: application/pdf; name=a.pdf\r\nContent-Disposition: attachment; filename=\r\n\r\nx",
	"Content-Type: text/plain; name=a.txt;\r\nContent-Disposition: INLINE\r\n\r\nx",
	"Content-Type: text/plain; name=a.txt; name=b.txt\r\nContent-Disposition: ;;\r\n\r\nx",
	"Content-Disposition: attachment; filename=\"a\\\"b.txt\"\r\n\r\nx",
	"content-disposition: Attachment ; FILENAME=\"c.txt\"\r\n\r\nx",
	"Content-Type: application/octet-stream\r\n\r\nx",
	"\r\nx",
}

// TestFilenameAsGoMessage checks Filename and Disposition, which read the
// fields without making the header, against go-message on the header.
func TestFilenameAsGoMessage(t *testing.T) {
	msgs := partCases
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "*.eml"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, string(b))
	}
	for _, in := range msgs {
		root, err := Scan(strings.NewReader(in), int64(len(in)), nil)
		if err != nil {
			t.Fatalf("%q: %v", in[:min(len(in), 80)], err)
		}
		root.Walk(func(p *Part) bool {
			ah := mail.AttachmentHeader{Header: message.Header{Header: p.Header()}}
			want, err := ah.Filename()
			if err != nil || want == "" {
				want, _ = p.Param("name")
			}
			if got := p.Filename(); got != want {
				t.Errorf("part %q of %q: Filename %q, go-message %q", p.Path, in[:min(len(in), 80)], got, want)
			}
			wd, _, _ := ah.ContentDisposition()
			if got := p.Disposition(); got != wd {
				t.Errorf("part %q of %q: Disposition %q, go-message %q", p.Path, in[:min(len(in), 80)], got, wd)
			}
			return true
		})
	}
}

// FuzzFilename: on any Content-Type and Content-Disposition values,
// Filename and Disposition give what go-message gives.
func FuzzFilename(f *testing.F) {
	f.Add("application/pdf; name=\"a.pdf\"", "attachment; filename=\"b.pdf\"")
	f.Add("application/pdf", "attachment; filename*=UTF-8''%C3%A8.pdf")
	f.Add("text/plain; name=a.txt; name=b.txt", ";;")
	f.Add("", "Attachment ; FILENAME=\"=?UTF-8?Q?c=C3=A8.txt?=\"")
	f.Add("text/plain", "attachment; filename=a; filename=b")
	f.Fuzz(func(t *testing.T, ct, cd string) {
		if strings.ContainsAny(ct+cd, "\r\n") {
			return
		}
		in := "Content-Type: " + ct + "\r\nContent-Disposition: " + cd + "\r\n\r\nx"
		p, err := Scan(strings.NewReader(in), int64(len(in)), nil)
		if err != nil {
			return
		}
		ah := mail.AttachmentHeader{Header: message.Header{Header: p.Header()}}
		want, err := ah.Filename()
		if err != nil || want == "" {
			want, _ = p.Param("name")
		}
		if got := p.Filename(); got != want {
			t.Errorf("%q: Filename %q, go-message %q", in, got, want)
		}
		wd, _, _ := ah.ContentDisposition()
		if got := p.Disposition(); got != wd {
			t.Errorf("%q: Disposition %q, go-message %q", in, got, wd)
		}
	})
}
