package client

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/sample"
)

// TestWithdraw: a withdrawn registration is gone, stays gone after the
// store is reopened, and the Message-ID may be registered again; a message
// with receipts cannot be withdrawn.
func TestWithdraw(t *testing.T) {
	dir := t.TempDir()
	at := time.Now().Add(time.Minute)
	refused := newSent(1, at, []string{"bob@" + sample.RecipientDomain}, nil)
	taken := newSent(2, at, []string{"bob@" + sample.RecipientDomain}, nil)

	tr, err := OpenTracker(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*sentMsg{refused, taken} {
		if err := tr.Register(m.sent); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tr.Observe(classifyBytes(t, taken.build(t, pec.KindAcceptance, 0))); err != nil {
		t.Fatal(err)
	}
	if err := tr.Withdraw(refused.sent.MessageID, "554 refused"); err != nil {
		t.Fatalf("Withdraw: %v", err)
	}
	if err := tr.Withdraw(taken.sent.MessageID, "554 refused"); !errors.Is(err, ErrAlreadySent) {
		t.Errorf("Withdraw of a message with receipts: %v, want ErrAlreadySent", err)
	}
	if err := tr.Withdraw("never-sent@client.example", ""); err != nil {
		t.Errorf("Withdraw of an unknown message: %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}

	tr, err = OpenTracker(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, ok := tr.Status(refused.sent.MessageID); ok {
		t.Error("withdrawn message back after reopening")
	}
	if _, ok := tr.Status(taken.sent.MessageID); !ok {
		t.Error("the accepted message is gone")
	}
	if err := tr.Register(refused.sent); err != nil {
		t.Errorf("registering the withdrawn Message-ID again: %v", err)
	}
	if err := tr.Register(taken.sent); !errors.Is(err, ErrAlreadySent) {
		t.Errorf("registering the accepted one again: %v, want ErrAlreadySent", err)
	}
}

// TestComposeSpentAttachments: a draft whose attachment readers were read
// by a Compose is refused the second time, rather than sent with empty
// attachments (as a retry after a withdrawn send would otherwise do).
func TestComposeSpentAttachments(t *testing.T) {
	d := &Draft{From: sample.Alice, To: []string{"bob@" + sample.RecipientDomain}, Subject: "Prova", Text: "Testo.",
		MessageID:   "spent.1@client.example",
		Attachments: []Attachment{{Name: "a.txt", Content: strings.NewReader("contenuto")}}}
	var b bytes.Buffer
	if _, err := Compose(&b, d, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Compose(io.Discard, d, nil); !errors.Is(err, ErrInvalidDraft) {
		t.Errorf("second Compose with spent attachments: %v, want ErrInvalidDraft", err)
	}
	plain := &Draft{From: sample.Alice, To: []string{"bob@" + sample.RecipientDomain}, Subject: "Prova", Text: "Testo."}
	for i := 0; i < 2; i++ {
		if _, err := Compose(io.Discard, plain, nil); err != nil {
			t.Errorf("Compose %d of a draft without attachments: %v", i+1, err)
		}
	}
}
