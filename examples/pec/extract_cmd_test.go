package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/pectest"
	"github.com/pecsdk/pec/receipt"
	"github.com/pecsdk/pec/sample"
)

// sampleAttachment returns the decoded contratto.pdf of the sample
// original, read with net/mail and mime/multipart.
func sampleAttachment(t *testing.T) []byte {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(sample.Original))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			t.Fatalf("no contratto.pdf in the sample original: %v", err)
		}
		if p.FileName() != "contratto.pdf" {
			continue
		}
		if enc := p.Header.Get("Content-Transfer-Encoding"); !strings.EqualFold(enc, "base64") {
			t.Fatalf("contratto.pdf encoded as %q", enc)
		}
		b, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

// TestExtractCommand: extract writes the certification data, the original
// as deposited and its attachments, and nothing more, for every kind.
func TestExtractCommand(t *testing.T) {
	_, files := writeSampleDir(t)
	byKind := map[pec.Kind]string{}
	for _, f := range files {
		byKind[f.kind] = f.path
	}
	pdf := sampleAttachment(t)
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("sample attachment is not a PDF: %q", pdf)
	}

	withOriginal := []string{"contratto.pdf", "daticert.xml", "postacert.eml"}
	want := map[pec.Kind][]string{
		pec.KindTransport:     withOriginal,
		pec.KindAnomaly:       {"postacert.eml"},
		pec.KindDelivery:      withOriginal,
		pec.KindDeliveryShort: {"contratto.pdf.hash", "daticert.xml", "postacert.eml"},
	}
	for _, k := range pec.Kinds {
		if _, ok := want[k]; !ok {
			want[k] = []string{"daticert.xml"}
		}
	}

	for _, k := range pec.Kinds {
		t.Run(k.String(), func(t *testing.T) {
			src := byKind[k]
			if src == "" {
				t.Fatalf("no sample of %s", k)
			}
			out := filepath.Join(t.TempDir(), "new", "folder")
			st, stdout, stderr := runTool("extract", "-o", out, src)
			if st != 0 {
				t.Fatalf("pec extract: status %d\n%s%s", st, stdout, stderr)
			}
			entries, err := os.ReadDir(out)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Name())
				if !strings.Contains(stdout, filepath.Join(out, e.Name())) {
					t.Errorf("stdout does not report %s:\n%s", e.Name(), stdout)
				}
			}
			if !slices.Equal(got, want[k]) {
				t.Errorf("files %q, want %q", got, want[k])
			}

			_, data, _ := parsePEC(t, src, nil)
			if slices.Contains(got, "daticert.xml") {
				b, err := os.ReadFile(filepath.Join(out, "daticert.xml"))
				if err != nil {
					t.Fatal(err)
				}
				d, err := daticert.Unmarshal(b)
				if err != nil {
					t.Fatalf("extracted daticert.xml: %v", err)
				}
				if data == nil || d.ID != data.ID || d.Type != data.Type {
					t.Errorf("extracted daticert.xml (%s, %s) differs from the parsed message's (%+v)", d.Type, d.ID, data)
				}
			}
			if slices.Contains(got, "contratto.pdf") {
				b, err := os.ReadFile(filepath.Join(out, "contratto.pdf"))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(b, pdf) {
					t.Errorf("contratto.pdf: %d bytes %q, want the %d bytes of the sample original", len(b), b, len(pdf))
				}
			}
			if slices.Contains(got, "contratto.pdf.hash") {
				// The breve receipt lists the hash of the attachment it replaced.
				b, err := os.ReadFile(filepath.Join(out, "contratto.pdf.hash"))
				if err != nil {
					t.Fatal(err)
				}
				if !regexp.MustCompile(`^[0-9a-f]{40}$`).Match(bytes.TrimSpace(b)) {
					t.Errorf("contratto.pdf.hash = %q, want 40 hexadecimal digits", b)
				}
				raw, _ := os.ReadFile(src)
				rc, err := receipt.Parse(bytes.NewReader(raw), nil)
				if err != nil {
					t.Fatal(err)
				}
				if ok, err := rc.CheckAttachment("contratto.pdf", bytes.NewReader(pdf)); !ok || err != nil {
					t.Errorf("the breve receipt's hash does not match contratto.pdf: %v, %v", ok, err)
				}
			}
			if !slices.Contains(got, "postacert.eml") {
				return
			}
			f, err := os.Open(filepath.Join(out, "postacert.eml"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			msg, err := mail.ReadMessage(f)
			if err != nil {
				t.Fatalf("postacert.eml does not parse with net/mail: %v", err)
			}
			if _, err := io.ReadAll(msg.Body); err != nil {
				t.Fatal(err)
			}
			if k == pec.KindAnomaly {
				return
			}
			// The original as deposited carries the PEC msgid as its Message-ID.
			if data == nil {
				t.Fatalf("no certification data")
			}
			if id := msg.Header.Get("Message-ID"); id != "<"+data.ID+">" {
				t.Errorf("postacert.eml Message-ID %q, want the daticert identificativo <%s>", id, data.ID)
			}
			if s := msg.Header.Get("Subject"); s != "Contratto di fornitura" {
				t.Errorf("postacert.eml Subject %q", s)
			}
		})
	}

	t.Run("transport-bytes", func(t *testing.T) {
		// postacert.eml is the original exactly as the envelope carries it.
		out := t.TempDir()
		if st, _, stderr := runTool("extract", "-o", out, byKind[pec.KindTransport]); st != 0 {
			t.Fatalf("pec extract: %s", stderr)
		}
		b, _ := os.ReadFile(byKind[pec.KindTransport])
		env, err := envelope.Parse(bytes.NewReader(b), nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := env.Original()
		if err != nil {
			t.Fatal(err)
		}
		orig, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(filepath.Join(out, "postacert.eml"))
		if !bytes.Equal(got, orig) {
			t.Errorf("postacert.eml (%d bytes) is not the envelope's original (%d bytes)", len(got), len(orig))
		}
		cr, err := env.CertData()
		if err != nil {
			t.Fatal(err)
		}
		cd, _ := io.ReadAll(cr)
		if got, _ := os.ReadFile(filepath.Join(out, "daticert.xml")); !bytes.Equal(got, cd) {
			t.Errorf("daticert.xml differs from the envelope's certification data")
		}
	})

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no-folder", []string{"extract", byKind[pec.KindTransport]}},
		{"not-pec", []string{"extract", "-o", t.TempDir(), filepath.Join("testdata", "plain.eml")}},
		{"missing-file", []string{"extract", "-o", t.TempDir(), filepath.Join(t.TempDir(), "absent.eml")}},
	} {
		t.Run("usage/"+tc.name, func(t *testing.T) {
			if st, stdout, stderr := runTool(tc.args...); st != 2 || stderr == "" {
				t.Errorf("status %d, want 2 with a message\n%s%s", st, stdout, stderr)
			}
		})
	}
}

// transportFile builds and writes a transport envelope of original, signed
// by a provider of a fresh test CA.
func transportFile(t testing.TB, original string) string {
	t.Helper()
	pki, err := pectest.NewPKI("PEC Test CA")
	if err != nil {
		t.Fatal(err)
	}
	signer, _, err := pki.NewProvider(sample.SenderProvider, pec.ServiceLocalPart+"@"+sample.SenderDomain, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := pec.Local(time.Date(2026, 9, 14, 9, 0, 0, 0, time.UTC))
	d := &daticert.Data{
		Type:        pec.CertTransport,
		Error:       pec.ErrorNone,
		Sender:      sample.Alice,
		Recipients:  []daticert.Recipient{{Address: sample.Bob, Type: pec.RecipientCertified}},
		ReplyTo:     sample.Alice,
		Subject:     "Allegati",
		Provider:    sample.SenderProvider,
		Time:        now,
		ID:          pec.NewMsgID(sample.SenderDomain, now),
		MsgID:       "<allegati-1@client.example>",
		ReceiptType: pec.ReceiptFull,
	}
	var b bytes.Buffer
	if err := envelope.Build(&b, strings.NewReader(original), d, signer, nil); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "envelope.eml")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExtractKeepsAttachmentBytes: an extracted attachment is the file the
// sender attached, byte for byte: only its transfer encoding is undone. A
// text attachment keeps its own charset (an ISO-8859-1 XML file declares
// it), and a charset unknown to the tool does not stop the extraction.
func TestExtractKeepsAttachmentBytes(t *testing.T) {
	latin1 := []byte("Perch\xe8 s\xec: consegna entro luned\xec.\r\n")
	xml := []byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\r\n<nota>citt\xe0</nota>\r\n")
	pdf := sampleAttachment(t)
	for _, tc := range []struct {
		name, file, contentType string
		content                 []byte
	}{
		{"pdf", "contratto.pdf", "application/pdf", pdf},
		{"utf-8-text", "nota.txt", "text/plain; charset=utf-8", []byte("Perché sì.\r\n")},
		{"iso-8859-1-text", "nota.txt", "text/plain; charset=iso-8859-1", latin1},
		{"iso-8859-1-xml", "nota.xml", "text/xml; charset=iso-8859-1", xml},
		{"unknown-charset", "nota.txt", "text/plain; charset=x-sconosciuto", latin1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			original := "From: " + sample.Alice + "\r\n" +
				"To: " + sample.Bob + "\r\n" +
				"Subject: Allegati\r\n" +
				"Message-ID: <allegati-1@client.example>\r\n" +
				"MIME-Version: 1.0\r\n" +
				"Content-Type: multipart/mixed; boundary=\"b1\"\r\n" +
				"\r\n" +
				"--b1\r\n" +
				"Content-Type: text/plain; charset=utf-8\r\n" +
				"\r\n" +
				"In allegato.\r\n" +
				"--b1\r\n" +
				"Content-Type: " + tc.contentType + "; name=\"" + tc.file + "\"\r\n" +
				"Content-Disposition: attachment; filename=\"" + tc.file + "\"\r\n" +
				"Content-Transfer-Encoding: base64\r\n" +
				"\r\n" +
				base64.StdEncoding.EncodeToString(tc.content) + "\r\n" +
				"--b1--\r\n"
			src := transportFile(t, original)
			// inspect reports the attachment as sent.
			var rep struct {
				Original *struct {
					Attachments []struct {
						Name string `json:"name"`
						Size int64  `json:"size"`
					} `json:"attachments"`
					Error string `json:"error"`
				} `json:"original"`
			}
			if err := json.Unmarshal(inspectJSON(t, src)["original"], &rep.Original); err != nil || rep.Original == nil {
				t.Fatalf("inspect: original: %v", err)
			}
			if o := rep.Original; o.Error != "" || len(o.Attachments) != 1 || o.Attachments[0].Name != tc.file || o.Attachments[0].Size != int64(len(tc.content)) {
				t.Errorf("inspect original: attachments %+v, error %q; want %s of %d bytes and no error "+
					"(inspect.go's originalJSON measures the charset-converted body and stops at a non-fatal unknown-charset error)",
					o.Attachments, o.Error, tc.file, len(tc.content))
			}
			out := t.TempDir()
			if st, stdout, stderr := runTool("extract", "-o", out, src); st != 0 {
				t.Fatalf("pec extract: status %d: an attachment's charset label must not stop the extraction "+
					"(extract.go treats go-message's non-fatal unknown-charset error as fatal)\n%s%s", st, stdout, stderr)
			}
			got, err := os.ReadFile(filepath.Join(out, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.content) {
				t.Errorf("%s is not the attached file:\n got % x\nwant % x\n(extract.go writes the part body of go-message's mail.Reader, which converts text/* parts to UTF-8; only the transfer encoding may be undone)", tc.file, got, tc.content)
			}
			// postacert.eml is always the original as carried, whatever its parts.
			if b, err := os.ReadFile(filepath.Join(out, "postacert.eml")); err != nil || !bytes.Contains(b, []byte(base64.StdEncoding.EncodeToString(tc.content))) {
				t.Errorf("postacert.eml does not carry the attachment as sent (%v)", err)
			}
		})
	}
}

// TestFileNamesLinear: extract names the files of n attachments in O(n)
// lookups, whatever the names: the same name n times, names that collide
// with the suffixes given to others, before or after them. The count of
// lookups is bounded, not timed: retrying from -2 for each duplicate takes
// n²/2 of them.
func TestFileNamesLinear(t *testing.T) {
	same := func(n int, name string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = name
		}
		return out
	}
	suffixed := func(from, to int) []string {
		var out []string
		for k := from; k <= to; k++ {
			out = append(out, fmt.Sprintf("a-%d.pdf", k))
		}
		return out
	}
	var interleaved []string
	for k := 2; k < 2000; k++ {
		interleaved = append(interleaved, "a.pdf", fmt.Sprintf("a-%d.pdf", k+1))
	}
	for _, tc := range []struct {
		name  string
		in    []string
		first []string // the names given to the first inputs
	}{
		{"same-8000", same(8000, "a.pdf"), []string{"a.pdf", "a-2.pdf", "a-3.pdf"}},
		{"reserved", same(3, pec.OriginalName), []string{"postacert-2.eml", "postacert-3.eml", "postacert-4.eml"}},
		{"no-extension", same(3, "LEGGIMI"), []string{"LEGGIMI", "LEGGIMI-2", "LEGGIMI-3"}},
		{"suffixes-taken-first", append(suffixed(2, 4001), same(4000, "a.pdf")...), []string{"a-2.pdf", "a-3.pdf"}},
		{"suffixes-taken-between", interleaved, []string{"a.pdf", "a-3.pdf", "a-2.pdf", "a-4.pdf", "a-5.pdf"}},
		{"duplicates-of-suffixed", append(same(3, "a.pdf"), same(3, "a-2.pdf")...), []string{"a.pdf", "a-2.pdf", "a-3.pdf", "a-2-2.pdf", "a-2-3.pdf", "a-2-4.pdf"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newFileNames(pec.OriginalName, pec.CertDataName)
			seen := map[string]bool{pec.OriginalName: true, pec.CertDataName: true}
			var got []string
			for _, in := range tc.in {
				name := n.unique(in)
				if seen[name] {
					t.Fatalf("%q given twice", name)
				}
				seen[name] = true
				got = append(got, name)
			}
			if !slices.Equal(got[:len(tc.first)], tc.first) {
				t.Errorf("names %q, want %q first", got[:len(tc.first)], tc.first)
			}
			if limit := 3 * len(tc.in); n.probes > limit {
				t.Errorf("%d lookups for %d names, want at most %d", n.probes, len(tc.in), limit)
			}
		})
	}
}

// manyAttachments is an original message with n attachments named name,
// each of a few bytes that tell them apart.
func manyAttachments(n int, name string) string {
	var b strings.Builder
	b.WriteString("From: " + sample.Alice + "\r\nTo: " + sample.Bob + "\r\nSubject: Allegati\r\n" +
		"Message-ID: <allegati-1@client.example>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nIn allegato.\r\n")
	for i := range n {
		fmt.Fprintf(&b, "--b1\r\nContent-Type: text/plain; name=%q\r\nContent-Disposition: attachment; filename=%q\r\n\r\nallegato %d\r\n", name, name, i)
	}
	b.WriteString("--b1--\r\n")
	return b.String()
}

// TestExtractSameName: attachments of one name are all written, each to a
// file of its own, in order.
func TestExtractSameName(t *testing.T) {
	const n = 500
	src := transportFile(t, manyAttachments(n, "fattura.xml"))
	out := t.TempDir()
	if st, stdout, stderr := runTool("extract", "-o", out, src); st != 0 {
		t.Fatalf("pec extract: status %d\n%s%s", st, stdout, stderr)
	}
	for i := range n {
		name := "fattura.xml"
		if i > 0 {
			name = fmt.Sprintf("fattura-%d.xml", i+1)
		}
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || string(b) != fmt.Sprintf("allegato %d", i) {
			t.Fatalf("%s: %q, %v; want attachment %d", name, b, err, i)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) != n+2 {
		t.Errorf("%d files, want %d attachments, daticert.xml and postacert.eml", len(entries), n)
	}
}
