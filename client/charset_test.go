package client_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pecmail"
	"github.com/pecsdk/pec/sample"
)

// Text attachments outside UTF-8: bytes a charset conversion would change.
var (
	latin1Text = []byte("Citt\xe0, perch\xe9, \xa9 2026, pi\xf9 \xb0C\r\n")      // ISO-8859-1
	cp1252Text = []byte("\x93Preventivo\x94 \x80 1.200 \x96 IVA \x85 incl.\r\n") // Windows-1252: curly quotes, euro, dash, ellipsis
)

// charsetDraft is a draft from Alice to Bob with the two text attachments.
func charsetDraft() *client.Draft {
	return &client.Draft{
		From: sample.Alice, To: []string{sample.Bob}, Subject: "Allegati in altri charset",
		Text: "Due allegati di testo.\n",
		Attachments: []client.Attachment{
			{Name: "latin1.txt", ContentType: "text/plain; charset=iso-8859-1", Content: bytes.NewReader(latin1Text)},
			{Name: "cp1252.txt", ContentType: "text/plain; charset=windows-1252", Content: bytes.NewReader(cp1252Text)},
		},
	}
}

// rawAttachments returns the attachments of a message by file name: their
// bytes with the transfer encoding undone and no charset conversion, and
// their Content-Type.
func rawAttachments(t *testing.T, msg io.Reader) (map[string][]byte, map[string]string) {
	t.Helper()
	br := bufio.NewReader(msg)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	body, types := map[string][]byte{}, map[string]string{}
	mr := textproto.NewMultipartReader(br, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		_, dp, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		if dp["filename"] == "" {
			continue
		}
		if enc := p.Header.Get("Content-Transfer-Encoding"); !strings.EqualFold(enc, "base64") {
			t.Fatalf("%s: transfer encoding %q, want base64", dp["filename"], enc)
		}
		b, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, newlineSkipper{p}))
		if err != nil {
			t.Fatalf("%s: %v", dp["filename"], err)
		}
		body[dp["filename"]] = b
		types[dp["filename"]] = p.Header.Get("Content-Type")
	}
	return body, types
}

// newlineSkipper drops the line breaks of base64 text.
type newlineSkipper struct{ r io.Reader }

func (s newlineSkipper) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	return copy(p, bytes.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, p[:n])), err
}

// TestComposeCharsets: Compose writes text attachments in any charset with
// their bytes and declared charset unchanged.
func TestComposeCharsets(t *testing.T) {
	var b bytes.Buffer
	if _, err := client.Compose(&b, charsetDraft(), nil); err != nil {
		t.Fatal(err)
	}
	got, types := rawAttachments(t, &b)
	for _, tc := range []struct {
		name, charset string
		want          []byte
	}{{"latin1.txt", "iso-8859-1", latin1Text}, {"cp1252.txt", "windows-1252", cp1252Text}} {
		if shaHex(got[tc.name]) != shaHex(tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got[tc.name], tc.want)
		}
		if _, p, _ := mime.ParseMediaType(types[tc.name]); p["charset"] != tc.charset {
			t.Errorf("%s: Content-Type %q, want charset %s", tc.name, types[tc.name], tc.charset)
		}
	}
}

// failingReader fails on its first read.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk gone") }

// TestAttachmentErrors: what cannot be sent is an *AttachmentError naming
// the attachment, with the client: prefix.
func TestAttachmentErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		att     client.Attachment
		invalid bool // matches ErrInvalidDraft
		want    string
	}{
		{"reader fails", client.Attachment{Name: "a.txt", ContentType: "text/plain; charset=iso-8859-1", Content: failingReader{}}, false, "disk gone"},
		{"bad content type", client.Attachment{Name: "b.txt", ContentType: "text/plain; charset=", Content: strings.NewReader("x")}, true, "content type"},
		{"multipart", client.Attachment{Name: "c.eml", ContentType: "multipart/mixed; boundary=x", Content: strings.NewReader("x")}, true, "multipart"},
		{"no name", client.Attachment{ContentType: "text/plain", Content: strings.NewReader("x")}, true, "file name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &client.Draft{From: sample.Alice, To: []string{sample.Bob}, Attachments: []client.Attachment{tc.att}}
			_, err := client.Compose(io.Discard, d, nil)
			var ae *client.AttachmentError
			if !errors.As(err, &ae) || ae.Index != 0 || ae.Name != tc.att.Name {
				t.Fatalf("%v: want an *AttachmentError for attachment 0", err)
			}
			if !strings.HasPrefix(err.Error(), "client: attachment 0 ("+tc.att.Name+")") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%q: want it to name the attachment and say %q", err, tc.want)
			}
			if errors.Is(err, client.ErrInvalidDraft) != tc.invalid {
				t.Errorf("errors.Is(ErrInvalidDraft) = %v, want %v", !tc.invalid, tc.invalid)
			}
		})
	}
}

// TestSendCharsetAttachments sends ISO-8859-1 and Windows-1252 text
// attachments through the test provider, fetches the recipient's mailbox,
// takes the original out of the transport envelope and compares each
// attachment's bytes, with the transfer encoding undone and no charset
// conversion, to what was sent.
func TestSendCharsetAttachments(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sub, err := client.Send(ctx, charsetDraft(), w.submitOpts(client.SecurityTLS, "", nil))
	if err != nil {
		t.Fatal(err)
	}
	opts := fetchOpts(w.srv, client.IMAP, client.SecurityTLS, t.TempDir(), w.set)
	opts.Username, opts.Password = sample.Bob, bobPass
	res, err := client.Fetch(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, fm := range res.Messages {
		if fm.Message == nil || fm.Message.Kind != pec.KindTransport {
			continue
		}
		f, err := os.Open(fm.Path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		env, err := envelope.Parse(f, liveOpts(w.set))
		if err != nil {
			t.Fatal(err)
		}
		if !env.OK() {
			t.Errorf("envelope not OK: %v", env.Err())
		}
		if env.Data == nil || pec.NormalizeMsgID(env.Data.MsgID) != sub.MessageID {
			continue
		}
		found = true
		orig, err := env.Original()
		if err != nil {
			t.Fatal(err)
		}
		got, types := rawAttachments(t, orig)
		for name, want := range map[string][]byte{"latin1.txt": latin1Text, "cp1252.txt": cp1252Text} {
			if shaHex(got[name]) != shaHex(want) {
				t.Errorf("%s: received %q (SHA-256 %s), sent %q (SHA-256 %s)", name, got[name], shaHex(got[name]), want, shaHex(want))
			}
		}
		if !strings.Contains(types["cp1252.txt"], "windows-1252") || !strings.Contains(types["latin1.txt"], "iso-8859-1") {
			t.Errorf("declared charsets lost: %v", types)
		}
		// The same bytes through the library's attachments API.
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		pm, err := pecmail.Read(f, liveOpts(w.set))
		if err != nil {
			t.Fatal(err)
		}
		as, err := pm.Attachments()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, a := range as {
			want, ok := map[string][]byte{"latin1.txt": latin1Text, "cp1252.txt": cp1252Text}[a.Name]
			if !ok {
				continue
			}
			n++
			r, err := a.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(r)
			if shaHex(b) != shaHex(want) {
				t.Errorf("pecmail: %s: %q, sent %q", a.Name, b, want)
			}
		}
		if n != 2 {
			t.Errorf("pecmail found %d of the 2 attachments", n)
		}
	}
	if !found {
		t.Fatalf("no transport envelope of %s in Bob's mailbox (%d messages)", sub.MessageID, len(res.Messages))
	}
}

// TestDraftKeepsMessageID: a draft sent without a Message-ID gets one,
// keeps it, and a retry of the same draft is recognised by the tracker
// without reaching the server; fresh attachment readers compose it again
// under the same identifier.
func TestDraftKeepsMessageID(t *testing.T) {
	d := charsetDraft()
	var first bytes.Buffer
	id, err := client.Compose(&first, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.MessageID != id || id == "" || strings.ContainsAny(id, "<>") {
		t.Fatalf("draft Message-ID %q, Compose returned %q", d.MessageID, id)
	}
	if _, err := client.Compose(io.Discard, d, nil); !errors.Is(err, client.ErrInvalidDraft) {
		t.Errorf("compose again with spent readers: %v, want ErrInvalidDraft", err)
	}
	d.Attachments = charsetDraft().Attachments
	again, err := client.Compose(io.Discard, d, nil)
	if err != nil || again != id {
		t.Errorf("compose with fresh readers: %q, %v; want %q", again, err, id)
	}

	// A reader that cannot be compared cannot be told fresh from spent:
	// once the draft is composed, it is refused rather than sent empty.
	nc := &client.Draft{From: sample.Alice, To: []string{sample.Bob},
		Attachments: []client.Attachment{{Name: "a.txt", Content: valueReader{r: strings.NewReader("a")}}}}
	if _, err := client.Compose(io.Discard, nc, nil); err != nil {
		t.Fatal(err)
	}
	nc.Attachments[0].Content = valueReader{r: strings.NewReader("a")}
	if _, err := client.Compose(io.Discard, nc, nil); !errors.Is(err, client.ErrInvalidDraft) {
		t.Errorf("compose again with an incomparable reader: %v, want ErrInvalidDraft", err)
	}

	tr, err := client.OpenTracker("", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Register(client.Sent{MessageID: id, From: sample.Alice, To: []string{sample.Bob}}); err != nil {
		t.Fatal(err)
	}
	// Nothing listens on the server address: a retry that got past the
	// tracker would fail with a connection error instead.
	_, err = client.Send(context.Background(), d, &client.SubmitOptions{
		Server: client.Endpoint{Host: "127.0.0.1", Port: 1}, Username: sample.Alice, Tracker: tr,
	})
	if !errors.Is(err, client.ErrAlreadySent) {
		t.Errorf("retry of the same draft: %v, want ErrAlreadySent", err)
	}
}

// valueReader is a reader of a type that cannot be compared.
type valueReader struct {
	r   io.Reader
	pad []byte
}

func (v valueReader) Read(p []byte) (int, error) { return v.r.Read(p) }
