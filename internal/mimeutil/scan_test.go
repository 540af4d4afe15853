package mimeutil

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"

	"github.com/pecsdk/pec/pec/pectest"
	"github.com/pecsdk/pec/pec/smime"
)

// wantPart is what one entity of a scanned message must be. raw and body
// are the exact bytes that Raw and RawBody give.
type wantPart struct {
	path     string
	typ      string
	raw      string
	body     string
	embedded bool    // the message inside a message/rfc822 part
	problems []error // each must match one of the part's Problems
}

// flatten lists p and the entities below it in Walk order.
func flatten(p *Part) []*Part {
	var out []*Part
	p.Walk(func(q *Part) bool { out = append(out, q); return true })
	return out
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// crlf turns the LF line endings of s into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

var scanCases = []struct {
	name string
	in   string
	want []wantPart
}{
	{
		name: "single part, LF",
		in:   "Subject: a\nContent-Type: text/plain; charset=utf-8\n\nbody\n",
		want: []wantPart{{path: "", typ: "text/plain", raw: "Subject: a\nContent-Type: text/plain; charset=utf-8\n\nbody\n", body: "body\n"}},
	},
	{
		name: "single part, CRLF, no Content-Type",
		in:   "Subject: a\r\n\r\nbody\r\n",
		want: []wantPart{{path: "", typ: "text/plain", raw: "Subject: a\r\n\r\nbody\r\n", body: "body\r\n"}},
	},
	{
		name: "empty header",
		in:   "\r\nonly a body",
		want: []wantPart{{path: "", typ: "text/plain", raw: "\r\nonly a body", body: "only a body"}},
	},
	{
		name: "header not terminated",
		in:   "Subject: a\r\nFrom: b@c.example\r\n",
		want: []wantPart{{path: "", typ: "text/plain", raw: "Subject: a\r\nFrom: b@c.example\r\n", body: "", problems: []error{ErrNoHeaderEnd}}},
	},
	{
		name: "multipart, CRLF, preamble and epilogue",
		in: crlf("Content-Type: multipart/mixed; boundary=b\n\npreamble\n--b\nContent-Type: text/plain\n\none\n" +
			"--b\n\ntwo\n--b--\nepilogue\n"),
		want: []wantPart{
			{path: "", typ: "multipart/mixed", raw: crlf("Content-Type: multipart/mixed; boundary=b\n\npreamble\n--b\nContent-Type: text/plain\n\none\n--b\n\ntwo\n--b--\nepilogue\n"),
				body: crlf("preamble\n--b\nContent-Type: text/plain\n\none\n--b\n\ntwo\n--b--\nepilogue\n")},
			{path: "1", typ: "text/plain", raw: "Content-Type: text/plain\r\n\r\none", body: "one"},
			{path: "2", typ: "text/plain", raw: "\r\ntwo", body: "two"},
		},
	},
	{
		name: "multipart, LF",
		in:   "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\none\n\n--b\n\ntwo\n--b--\n",
		want: []wantPart{
			{path: "", typ: "multipart/mixed", raw: "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\none\n\n--b\n\ntwo\n--b--\n",
				body: "--b\nContent-Type: text/plain\n\none\n\n--b\n\ntwo\n--b--\n"},
			{path: "1", typ: "text/plain", raw: "Content-Type: text/plain\n\none\n", body: "one\n"},
			{path: "2", typ: "text/plain", raw: "\ntwo", body: "two"},
		},
	},
	{
		name: "nested multipart",
		in: crlf("Content-Type: multipart/mixed; boundary=out\n\n--out\nContent-Type: multipart/alternative; boundary=in\n\n" +
			"--in\nContent-Type: text/plain\n\ntesto\n--in\nContent-Type: text/html\n\n<p>testo</p>\n--in--\n" +
			"--out\nContent-Type: application/xml; name=daticert.xml\n\n<postacert/>\n--out--\n"),
		want: []wantPart{
			{path: "", typ: "multipart/mixed", raw: crlf("Content-Type: multipart/mixed; boundary=out\n\n--out\nContent-Type: multipart/alternative; boundary=in\n\n" +
				"--in\nContent-Type: text/plain\n\ntesto\n--in\nContent-Type: text/html\n\n<p>testo</p>\n--in--\n" +
				"--out\nContent-Type: application/xml; name=daticert.xml\n\n<postacert/>\n--out--\n"),
				body: crlf("--out\nContent-Type: multipart/alternative; boundary=in\n\n" +
					"--in\nContent-Type: text/plain\n\ntesto\n--in\nContent-Type: text/html\n\n<p>testo</p>\n--in--\n" +
					"--out\nContent-Type: application/xml; name=daticert.xml\n\n<postacert/>\n--out--\n")},
			{path: "1", typ: "multipart/alternative",
				raw:  crlf("Content-Type: multipart/alternative; boundary=in\n\n--in\nContent-Type: text/plain\n\ntesto\n--in\nContent-Type: text/html\n\n<p>testo</p>\n--in--"),
				body: crlf("--in\nContent-Type: text/plain\n\ntesto\n--in\nContent-Type: text/html\n\n<p>testo</p>\n--in--")},
			{path: "1.1", typ: "text/plain", raw: "Content-Type: text/plain\r\n\r\ntesto", body: "testo"},
			{path: "1.2", typ: "text/html", raw: "Content-Type: text/html\r\n\r\n<p>testo</p>", body: "<p>testo</p>"},
			{path: "2", typ: "application/xml", raw: "Content-Type: application/xml; name=daticert.xml\r\n\r\n<postacert/>", body: "<postacert/>"},
		},
	},
	{
		name: "white space after the boundary",
		in:   crlf("Content-Type: multipart/mixed; boundary=b\n\n--b \t\n\none\n--b\t\n\ntwo\n--b--  \n"),
		want: []wantPart{
			{path: "", typ: "multipart/mixed", raw: crlf("Content-Type: multipart/mixed; boundary=b\n\n--b \t\n\none\n--b\t\n\ntwo\n--b--  \n"),
				body: crlf("--b \t\n\none\n--b\t\n\ntwo\n--b--  \n")},
			{path: "1", typ: "text/plain", raw: "\r\none", body: "one"},
			{path: "2", typ: "text/plain", raw: "\r\ntwo", body: "two"},
		},
	},
	{
		name: "a line that only starts like the boundary",
		in:   crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bb\n--b-x\n--b--\n"),
		want: []wantPart{
			{path: "", typ: "multipart/mixed", raw: crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bb\n--b-x\n--b--\n"),
				body: crlf("--b\n\n--bb\n--b-x\n--b--\n")},
			{path: "1", typ: "text/plain", raw: "\r\n--bb\r\n--b-x", body: "--bb\r\n--b-x"},
		},
	},
	{
		name: "missing close delimiter",
		in:   crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n"),
		want: []wantPart{
			{path: "", typ: "multipart/mixed", raw: crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n"),
				body: crlf("--b\n\none\n--b\n\ntwo\n"), problems: []error{ErrNoClose}},
			{path: "1", typ: "text/plain", raw: "\r\none", body: "one"},
			{path: "2", typ: "text/plain", raw: "\r\ntwo\r\n", body: "two\r\n"},
		},
	},
	{
		name: "no boundary parameter",
		in:   "Content-Type: multipart/mixed\r\n\r\n--b\r\n\r\none\r\n--b--\r\n",
		want: []wantPart{{path: "", typ: "multipart/mixed", raw: "Content-Type: multipart/mixed\r\n\r\n--b\r\n\r\none\r\n--b--\r\n",
			body: "--b\r\n\r\none\r\n--b--\r\n", problems: []error{ErrNoBoundary}}},
	},
	{
		name: "boundary never occurs",
		in:   "Content-Type: multipart/mixed; boundary=z\r\n\r\n--b\r\n\r\none\r\n--b--\r\n",
		want: []wantPart{{path: "", typ: "multipart/mixed", raw: "Content-Type: multipart/mixed; boundary=z\r\n\r\n--b\r\n\r\none\r\n--b--\r\n",
			body: "--b\r\n\r\none\r\n--b--\r\n", problems: []error{ErrBoundaryAbsent}}},
	},
	{
		name: "transfer encoding on a multipart is ignored",
		in:   crlf("Content-Type: multipart/mixed; boundary=b\nContent-Transfer-Encoding: binary\n\n--b\n\none\n--b--\n"),
		want: []wantPart{
			{path: "", typ: "multipart/mixed", raw: crlf("Content-Type: multipart/mixed; boundary=b\nContent-Transfer-Encoding: binary\n\n--b\n\none\n--b--\n"),
				body: crlf("--b\n\none\n--b--\n")},
			{path: "1", typ: "text/plain", raw: "\r\none", body: "one"},
		},
	},
	{
		name: "empty parts",
		in:   crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n\n--b\n\n\n--b--\n"),
		want: []wantPart{
			{path: "", typ: "multipart/mixed", raw: crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n\n--b\n\n\n--b--\n"),
				body: crlf("--b\n--b\n\n--b\n\n\n--b--\n")},
			// Delimiters on consecutive lines: nothing between them, not even a header end.
			{path: "1", typ: "text/plain", raw: "", body: "", problems: []error{ErrNoHeaderEnd}},
			// One empty line: it is the CRLF that belongs to the next delimiter.
			{path: "2", typ: "text/plain", raw: "", body: "", problems: []error{ErrNoHeaderEnd}},
			// Two empty lines: an empty header and an empty body.
			{path: "3", typ: "text/plain", raw: "\r\n", body: ""},
		},
	},
	{
		name: "message/rfc822, 7bit",
		in: crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822; name=postacert.eml\nContent-Transfer-Encoding: 7bit\n\n" +
			"Subject: originale\nContent-Type: multipart/mixed; boundary=c\n\n--c\n\ntesto\n--c--\n--b--\n"),
		want: []wantPart{
			{path: "", typ: "multipart/mixed",
				raw: crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822; name=postacert.eml\nContent-Transfer-Encoding: 7bit\n\n" +
					"Subject: originale\nContent-Type: multipart/mixed; boundary=c\n\n--c\n\ntesto\n--c--\n--b--\n"),
				body: crlf("--b\nContent-Type: message/rfc822; name=postacert.eml\nContent-Transfer-Encoding: 7bit\n\n" +
					"Subject: originale\nContent-Type: multipart/mixed; boundary=c\n\n--c\n\ntesto\n--c--\n--b--\n")},
			{path: "1", typ: "message/rfc822",
				raw:  crlf("Content-Type: message/rfc822; name=postacert.eml\nContent-Transfer-Encoding: 7bit\n\nSubject: originale\nContent-Type: multipart/mixed; boundary=c\n\n--c\n\ntesto\n--c--"),
				body: crlf("Subject: originale\nContent-Type: multipart/mixed; boundary=c\n\n--c\n\ntesto\n--c--")},
			{path: "1", typ: "multipart/mixed", embedded: true,
				raw:  crlf("Subject: originale\nContent-Type: multipart/mixed; boundary=c\n\n--c\n\ntesto\n--c--"),
				body: crlf("--c\n\ntesto\n--c--")},
			{path: "1.1", typ: "text/plain", raw: "\r\ntesto", body: "testo"},
		},
	},
	{
		name: "message/rfc822, base64",
		in: crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n" +
			base64.StdEncoding.EncodeToString([]byte("Subject: dentro\r\n\r\ncorpo\r\n")) + "\n--b--\n"),
		want: []wantPart{
			{path: "", typ: "multipart/mixed",
				raw: crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n" +
					base64.StdEncoding.EncodeToString([]byte("Subject: dentro\r\n\r\ncorpo\r\n")) + "\n--b--\n"),
				body: crlf("--b\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n" +
					base64.StdEncoding.EncodeToString([]byte("Subject: dentro\r\n\r\ncorpo\r\n")) + "\n--b--\n")},
			{path: "1", typ: "message/rfc822",
				raw:  "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString([]byte("Subject: dentro\r\n\r\ncorpo\r\n")),
				body: base64.StdEncoding.EncodeToString([]byte("Subject: dentro\r\n\r\ncorpo\r\n"))},
			// Decoded: the offsets refer to the decoded message.
			{path: "1", typ: "text/plain", embedded: true, raw: "Subject: dentro\r\n\r\ncorpo\r\n", body: "corpo\r\n"},
		},
	},
	{
		name: "message/rfc822 at the top, quoted-printable",
		in:   "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nSubject: d=C3=A0\r\n\r\nx=3Dy\r\n",
		want: []wantPart{
			{path: "", typ: "message/rfc822", raw: "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nSubject: d=C3=A0\r\n\r\nx=3Dy\r\n",
				body: "Subject: d=C3=A0\r\n\r\nx=3Dy\r\n"},
			{path: "", typ: "text/plain", embedded: true, raw: "Subject: dà\r\n\r\nx=y\r\n", body: "x=y\r\n"},
		},
	},
	{
		name: "multipart/signed: the first part ends before the CRLF of the delimiter",
		in: crlf("Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"s\"\n\n" +
			"This is an S/MIME signed message\n\n--s\nContent-Type: text/plain\n\nriga con spazio finale \n\n\n--s\n" +
			"Content-Type: application/pkcs7-signature; name=smime.p7s\nContent-Transfer-Encoding: base64\n\nMIIB\n\n--s--\n"),
		want: []wantPart{
			{path: "", typ: "multipart/signed",
				raw: crlf("Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"s\"\n\n" +
					"This is an S/MIME signed message\n\n--s\nContent-Type: text/plain\n\nriga con spazio finale \n\n\n--s\n" +
					"Content-Type: application/pkcs7-signature; name=smime.p7s\nContent-Transfer-Encoding: base64\n\nMIIB\n\n--s--\n"),
				body: crlf("This is an S/MIME signed message\n\n--s\nContent-Type: text/plain\n\nriga con spazio finale \n\n\n--s\n" +
					"Content-Type: application/pkcs7-signature; name=smime.p7s\nContent-Transfer-Encoding: base64\n\nMIIB\n\n--s--\n")},
			{path: "1", typ: "text/plain", raw: "Content-Type: text/plain\r\n\r\nriga con spazio finale \r\n\r\n", body: "riga con spazio finale \r\n\r\n"},
			{path: "2", typ: "application/pkcs7-signature", raw: "Content-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\nMIIB\r\n",
				body: "MIIB\r\n"},
		},
	},
}

// TestScan checks the offsets of every entity of small handmade messages.
func TestScan(t *testing.T) {
	for _, tc := range scanCases {
		t.Run(tc.name, func(t *testing.T) {
			root, err := Scan(bytesReaderAt([]byte(tc.in)), int64(len(tc.in)), nil)
			if err != nil {
				t.Fatal(err)
			}
			got := flatten(root)
			if len(got) != len(tc.want) {
				for _, p := range got {
					t.Logf("got part %q %s", p.Path, p.MediaType)
				}
				t.Fatalf("%d entities, want %d", len(got), len(tc.want))
			}
			for i, w := range tc.want {
				p := got[i]
				if p.Path != w.path || p.MediaType != w.typ {
					t.Errorf("entity %d: %q %s, want %q %s", i, p.Path, p.MediaType, w.path, w.typ)
				}
				if raw := readAll(t, p.Raw()); raw != w.raw {
					t.Errorf("entity %d (%q): Raw\n%q\nwant\n%q", i, p.Path, raw, w.raw)
				}
				if body := readAll(t, p.RawBody()); body != w.body {
					t.Errorf("entity %d (%q): RawBody\n%q\nwant\n%q", i, p.Path, body, w.body)
				}
				if isEmbedded := i > 0 && got[i-1].Embedded == p; isEmbedded != w.embedded {
					t.Errorf("entity %d (%q): embedded %v, want %v", i, p.Path, isEmbedded, w.embedded)
				}
				if len(p.Problems) != len(w.problems) {
					t.Errorf("entity %d (%q): problems %v, want %v", i, p.Path, p.Problems, w.problems)
				}
				for _, target := range w.problems {
					if !problemIn(p.Problems, target) {
						t.Errorf("entity %d (%q): problems %v lack %v", i, p.Path, p.Problems, target)
					}
				}
			}
			checkTree(t, root, int64(len(tc.in)), nil)
		})
	}
}

func problemIn(problems []error, target error) bool {
	for _, p := range problems {
		if errors.Is(p, target) {
			return true
		}
	}
	return false
}

// TestScanProblemOffsets checks that a problem says where it is.
func TestScanProblemOffsets(t *testing.T) {
	in := "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n"
	root, err := Scan(bytesReaderAt([]byte(in)), int64(len(in)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(root.Problems) != 1 || Offset(root.Problems[0]) != int64(len(in)) {
		t.Errorf("problems %v, want ErrNoClose at byte %d", root.Problems, len(in))
	}
	if Offset(errors.New("x")) != -1 {
		t.Error("Offset of a foreign error is not -1")
	}
}

// TestScanLimits checks that every limit stops a hostile message with its
// error, and says where.
func TestScanLimits(t *testing.T) {
	nested := func(depth int) string {
		var b strings.Builder
		for i := range depth {
			b.WriteString("Content-Type: multipart/mixed; boundary=b" + strings.Repeat("x", i) + "\r\n\r\n--b" + strings.Repeat("x", i) + "\r\n")
		}
		b.WriteString("\r\nfondo\r\n")
		return b.String()
	}
	many := func(n int) string {
		return "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + strings.Repeat("--b\r\n\r\nx\r\n", n) + "--b--\r\n"
	}
	embedded := "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString([]byte("Subject: x\r\n\r\n"+strings.Repeat("y", 4096)))
	cases := []struct {
		name   string
		in     string
		lim    *Limits
		want   error
		offset int64 // -1: any
	}{
		{"depth", nested(40), nil, ErrTooDeep, -1},
		{"depth, custom limit", nested(5), &Limits{MaxDepth: 3}, ErrTooDeep, -1},
		{"parts", many(10001), nil, ErrTooManyParts, -1},
		{"parts, custom limit", many(11), &Limits{MaxParts: 10}, ErrTooManyParts, -1},
		// The offset is where the limit is crossed.
		{"header", "Subject: " + strings.Repeat("a", 300<<10) + "\r\n\r\n", nil, ErrHeaderTooLarge, -1},
		{"header, custom limit", "Subject: a\r\nX: " + strings.Repeat("a", 100) + "\r\n\r\n", &Limits{MaxHeaderBytes: 64}, ErrHeaderTooLarge, 12},
		{"embedded", embedded, &Limits{MaxEmbedded: 1024}, ErrEmbeddedTooBig, int64(strings.Index(embedded, "\r\n\r\n") + 4)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Scan(bytesReaderAt([]byte(tc.in)), int64(len(tc.in)), tc.lim)
			if !errors.Is(err, tc.want) || p != nil {
				t.Fatalf("Scan = %v, %v; want nil, %v", p, err, tc.want)
			}
			if tc.offset >= 0 && Offset(err) != tc.offset {
				t.Errorf("offset %d, want %d", Offset(err), tc.offset)
			}
		})
	}
	// Just under the limits, the same shapes scan.
	for name, in := range map[string]string{"depth 32": nested(32), "10000 parts": many(9999)} {
		if _, err := Scan(bytesReaderAt([]byte(in)), int64(len(in)), nil); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestScanSignedRaw signs content with the S/MIME writer and verifies the
// signature over Raw of the first part: the offsets give exactly the bytes
// that were signed, for CRLF content and for a copy stored with LF.
func TestScanSignedRaw(t *testing.T) {
	pki, err := pectest.NewPKI("Scan CA")
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := pki.NewProvider("Scan PEC", "posta-certificata@pec.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	var h textproto.Header
	h.Add("Subject", "firmato")
	// Trailing white space and empty lines at the end of the content are
	// part of what is signed.
	content := "Content-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: text/plain\r\n\r\ntesto  \r\n\r\n--c--\r\n\r\n"
	var msg bytes.Buffer
	w, err := s.NewWriter(&msg, h, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, content)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{"CRLF": msg.Bytes(), "LF": bytes.ReplaceAll(msg.Bytes(), []byte("\r\n"), []byte("\n"))} {
		t.Run(name, func(t *testing.T) {
			root, err := Scan(bytesReaderAt(in), int64(len(in)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if root.MediaType != "multipart/signed" || len(root.Children) != 2 {
				t.Fatalf("%s with %d parts", root.MediaType, len(root.Children))
			}
			raw := readAll(t, root.Children[0].Raw())
			if want := content; name == "LF" {
				want = strings.ReplaceAll(content, "\r\n", "\n")
				if raw != want {
					t.Fatalf("Raw of the signed part\n%q\nwant\n%q", raw, want)
				}
			} else if raw != want {
				t.Fatalf("Raw of the signed part\n%q\nwant\n%q", raw, want)
			}
			body, err := root.Children[1].Body()
			if err != nil {
				t.Fatal(err)
			}
			der, err := io.ReadAll(body)
			if err != nil {
				t.Fatal(err)
			}
			v, err := smime.Verify(root.Children[0].Raw(), der, nil)
			if err != nil || !v.Intact {
				t.Fatalf("signature over Raw: %v %v", err, v.Problems)
			}
		})
	}
}

// TestRegressionScanCRLFAcrossBuffer: when the line before a delimiter is
// 32767 bytes long (or 32767 plus a multiple of 32768), the lines reader
// returns its CR at the end of one 32 KiB chunk and its LF alone in the
// next; multipart then takes the terminator for a bare LF and leaves the CR
// inside the part. For the first part of a multipart/signed the signature
// is then checked over one byte too many and a valid one fails.
func TestRegressionScanCRLFAcrossBuffer(t *testing.T) {
	for _, n := range []int{32766, 32767, 32768, 32767 + 32768} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			line := strings.Repeat("x", n)
			in := "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n" + line + "\r\n--b--\r\n"
			root, err := Scan(bytesReaderAt([]byte(in)), int64(len(in)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if body := readAll(t, root.Children[0].RawBody()); body != line {
				t.Errorf("body of %d bytes ends in %q, want the %d-byte line", len(body), body[len(body)-2:], n)
			}
		})
	}
	t.Run("signature", func(t *testing.T) {
		pki, err := pectest.NewPKI("Scan CA")
		if err != nil {
			t.Fatal(err)
		}
		s, _, err := pki.NewProvider("Scan PEC", "posta-certificata@pec.example", nil)
		if err != nil {
			t.Fatal(err)
		}
		var msg bytes.Buffer
		w, err := s.NewWriter(&msg, textproto.Header{}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "Content-Type: text/plain\r\n\r\n"+strings.Repeat("x", 32767))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		root, err := Scan(bytesReaderAt(msg.Bytes()), int64(msg.Len()), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := root.Children[1].Body()
		if err != nil {
			t.Fatal(err)
		}
		der, _ := io.ReadAll(body)
		v, err := smime.Verify(root.Children[0].Raw(), der, nil)
		if err != nil || !v.Intact {
			t.Errorf("valid signature not intact: %v %v", err, v.Problems)
		}
	})
}

// TestScanManyDelimitersBounded: a body of a million delimiter lines stops
// at the part limit before their spans are all held, in memory that does
// not grow with the count (it was 16 bytes a span, then 8 more for the
// children).
func TestScanManyDelimitersBounded(t *testing.T) {
	in := []byte("Content-Type: multipart/mixed; boundary=b\n\n" + strings.Repeat("--b\n", 1<<20))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	p, err := Scan(bytesReaderAt(in), int64(len(in)), nil)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooManyParts) || p != nil {
		t.Fatalf("Scan = %v, %v; want nil, ErrTooManyParts", p, err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
		t.Errorf("Scan allocated %d bytes for %d delimiter lines, want under 4 MiB", n, 1<<20)
	}
}
