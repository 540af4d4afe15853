package client_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
)

var updateGolden = flag.Bool("compose.update", false, "rewrite the golden files of the compose tests")

func TestDraftCheck(t *testing.T) {
	ok := func() *client.Draft {
		return &client.Draft{From: "Alice <alice@pec.example.it>", To: []string{"bob@pec.example.it"}, Subject: "s"}
	}
	for _, tc := range []struct {
		name   string
		change func(d *client.Draft)
		want   error
		where  string
	}{
		{"valid", func(d *client.Draft) {}, nil, ""},
		{"no From", func(d *client.Draft) { d.From = "" }, client.ErrAddress, "From"},
		{"two From", func(d *client.Draft) { d.From = "a@x.it, b@x.it" }, client.ErrAddress, "From"},
		{"From without domain", func(d *client.Draft) { d.From = "alice@" }, client.ErrAddress, "From"},
		{"no To", func(d *client.Draft) { d.To = nil }, client.ErrAddress, "To"},
		{"bad To", func(d *client.Draft) { d.To = append(d.To, "not an address") }, client.ErrAddress, "To[1]"},
		{"bad Cc", func(d *client.Draft) { d.Cc = []string{"x@"} }, client.ErrAddress, "Cc[0]"},
		{"repeated", func(d *client.Draft) { d.Cc = []string{"Bob <BOB@pec.example.it>"} }, client.ErrAddress, "Cc[0]"},
		{"subject line break", func(d *client.Draft) { d.Subject = "a\r\nBcc: x@y.it" }, client.ErrInvalidDraft, "Subject"},
		{"receipt type", func(d *client.Draft) { d.ReceiptType = "lunga" }, client.ErrInvalidDraft, "receipt"},
		{"receipt type case", func(d *client.Draft) { d.ReceiptType = "Breve" }, nil, ""},
		{"Message-ID brackets taken off", func(d *client.Draft) { d.MessageID = "<a@b>" }, nil, ""},
		{"Message-ID brackets, space", func(d *client.Draft) { d.MessageID = "<a b@c>" }, client.ErrInvalidDraft, "Message-ID"},
		{"attachment multipart", func(d *client.Draft) {
			d.Attachments = []client.Attachment{{Name: "x", ContentType: "multipart/mixed; boundary=b", Content: strings.NewReader("")}}
		}, client.ErrInvalidDraft, "attachment 0 (x)"},
		{"attachment content type", func(d *client.Draft) {
			d.Attachments = []client.Attachment{{Name: "x", ContentType: "text/plain; charset", Content: strings.NewReader("")}}
		}, client.ErrInvalidDraft, "attachment 0 (x)"},
		{"Message-ID no at", func(d *client.Draft) { d.MessageID = "abc" }, client.ErrInvalidDraft, "Message-ID"},
		{"Message-ID space", func(d *client.Draft) { d.MessageID = "a b@c" }, client.ErrInvalidDraft, "Message-ID"},
		{"attachment name", func(d *client.Draft) {
			d.Attachments = []client.Attachment{{Name: "../x", Content: strings.NewReader("")}}
		}, client.ErrInvalidDraft, "attachment 0"},
		{"attachment content", func(d *client.Draft) { d.Attachments = []client.Attachment{{Name: "x"}} }, client.ErrInvalidDraft, "attachment 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := ok()
			tc.change(d)
			err := d.Check()
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.where) {
				t.Errorf("%v: want %v naming %q", err, tc.want, tc.where)
			}
		})
	}
}

// TestCompose checks the composed message against a golden file (boundary
// normalised) and reads it back with go-message.
func TestCompose(t *testing.T) {
	d := &client.Draft{
		From:        "Alice Rossi <alice@pec.mittente.example>",
		To:          []string{"Bob Bianchi <bob@pec.destinatario.example>"},
		Cc:          []string{"carol@ordinaria.example"},
		Subject:     "Contratto — firmato",
		Text:        "Buongiorno,\nin allegato il contratto.\n",
		Attachments: []client.Attachment{{Name: "contratto.pdf", ContentType: "application/pdf", Content: strings.NewReader("%PDF-1.4\n%%EOF\n")}},
		ReceiptType: pec.ReceiptShort,
		MessageID:   "fixed.1@client.example",
		Date:        time.Date(2026, 9, 14, 9, 0, 0, 0, pec.Location),
	}
	var b bytes.Buffer
	id, err := client.Compose(&b, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if id != d.MessageID {
		t.Errorf("id %q", id)
	}
	norm := regexp.MustCompile(`[0-9a-f]{60}`).ReplaceAll(b.Bytes(), []byte("BOUNDARY"))
	golden := filepath.Join("testdata", "compose.golden.eml")
	if *updateGolden {
		if err := os.WriteFile(golden, norm, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(norm, want) {
		t.Errorf("composed message differs from %s:\n%s", golden, norm)
	}
	mr, err := gomail.CreateReader(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b.Bytes(), []byte("\r\nX-TipoRicevuta: breve\r\n")) {
		t.Errorf("X-TipoRicevuta not spelled as registered")
	}
	if got := mr.Header.Get(pec.HeaderReceiptType); got != "breve" {
		t.Errorf("X-TipoRicevuta %q", got)
	}
	if s, _ := mr.Header.Subject(); s != d.Subject {
		t.Errorf("subject %q", s)
	}
	var parts []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p.Body)
		parts = append(parts, string(body))
	}
	if len(parts) != 2 || strings.ReplaceAll(parts[0], "\r\n", "\n") != d.Text || parts[1] != "%PDF-1.4\n%%EOF\n" {
		t.Errorf("parts %q", parts)
	}
}

// TestPreSendChecks: what the provider would refuse is refused before any
// connection (the server address here accepts none).
func TestPreSendChecks(t *testing.T) {
	nowhere := client.Endpoint{Host: "127.0.0.1", Port: 1, Security: client.SecurityTLS}
	base := func() *client.Draft {
		return &client.Draft{From: "alice@pec.example.it", To: []string{"bob@pec.example.it", "carl@pec.example.it"}, Text: strings.Repeat("x", 2000)}
	}
	tr, _ := client.OpenTracker("", nil)
	if err := tr.Register(client.Sent{MessageID: "known@client.example", From: "alice@pec.example.it", To: []string{"bob@pec.example.it"}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		draft func() *client.Draft
		opts  client.SubmitOptions
		want  error
	}{
		{"sender is not the mailbox", func() *client.Draft { d := base(); d.From = "mallory@pec.example.it"; return d },
			client.SubmitOptions{Username: "alice@pec.example.it"}, client.ErrSender},
		{"sender is not the explicit mailbox", base,
			client.SubmitOptions{Username: "u12345", Mailbox: "other@pec.example.it"}, client.ErrSender},
		{"size × recipients", base, client.SubmitOptions{Username: "alice@pec.example.it", MaxTotal: 3000}, client.ErrTooLarge},
		{"bad recipient", func() *client.Draft { d := base(); d.To[1] = "x"; return d },
			client.SubmitOptions{Username: "alice@pec.example.it"}, client.ErrAddress},
		{"already sent", func() *client.Draft { d := base(); d.MessageID = "known@client.example"; return d },
			client.SubmitOptions{Username: "alice@pec.example.it", Tracker: tr}, client.ErrAlreadySent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.Server = nowhere
			_, err := client.Send(context.Background(), tc.draft(), &o)
			if !errors.Is(err, tc.want) {
				t.Errorf("%v, want %v", err, tc.want)
			}
		})
	}
	// Within the limit, the same draft gets as far as connecting.
	o := client.SubmitOptions{Server: nowhere, Username: "alice@pec.example.it", MaxTotal: 10000}
	if _, err := client.Send(context.Background(), base(), &o); err == nil || errors.Is(err, client.ErrTooLarge) {
		t.Errorf("%v: want a connection error", err)
	}
}

// TestServerSizeLimit: the SIZE the server announces is honoured before
// MAIL FROM, and nothing is registered.
func TestServerSizeLimit(t *testing.T) {
	w := newWorld(t) // announces SIZE 1 MiB
	tr, _ := client.OpenTracker("", nil)
	d := draft("big.1@client.example", "")
	d.Attachments = []client.Attachment{{Name: "big.bin", Content: bytes.NewReader(make([]byte, 1<<20))}}
	o := w.submitOpts(client.SecurityTLS, "", tr)
	o.MaxTotal = -1
	_, err := client.Send(context.Background(), d, o)
	if !errors.Is(err, client.ErrTooLarge) || !strings.Contains(err.Error(), "server takes at most") {
		t.Errorf("%v: want ErrTooLarge from the server's SIZE", err)
	}
	if _, ok := tr.Status("big.1@client.example"); ok || len(w.prov.Submissions()) != 0 {
		t.Error("a message over the server's size was registered or sent")
	}
}
