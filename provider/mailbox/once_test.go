package mailbox_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/pecsdk/pec/provider/mailbox"
)

// TestDeliverOnce: with Once, the same bytes delivered again into a folder
// are stored once, as a provider redoing a deposit after a crash needs;
// other bytes, another folder, or a message since expunged are delivered.
func TestDeliverOnce(t *testing.T) {
	ctx := context.Background()
	st, err := mailbox.OpenMaildir(t.TempDir(), &mailbox.MaildirOptions{Once: true})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.Mailbox(ctx, "bob@pec.example.it")
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("From: a@b\r\nSubject: x\r\n\r\nricevuta\r\n")
	count := func(folder string) int {
		t.Helper()
		fd, err := mb.List(ctx, folder)
		if err != nil {
			t.Fatal(err)
		}
		return len(fd.Messages)
	}
	deliver := func(folder string, b []byte) uint32 {
		t.Helper()
		uid, err := mb.Deliver(ctx, folder, bytes.NewReader(b), 0, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return uid
	}
	first := deliver(mailbox.Inbox, msg)
	if uid := deliver(mailbox.Inbox, msg); uid != 0 || count(mailbox.Inbox) != 1 {
		t.Fatalf("second delivery of the same bytes: uid %d, %d messages", uid, count(mailbox.Inbox))
	}
	deliver(mailbox.Inbox, append(msg, 'x'))
	deliver(mailbox.Sent, msg)
	if count(mailbox.Inbox) != 2 || count(mailbox.Sent) != 1 {
		t.Fatalf("inbox %d, sent %d", count(mailbox.Inbox), count(mailbox.Sent))
	}
	// Seen and moved to cur/ is still there.
	if err := mb.SetFlags(ctx, mailbox.Inbox, first, mailbox.Seen); err != nil {
		t.Fatal(err)
	}
	if uid := deliver(mailbox.Inbox, msg); uid != 0 || count(mailbox.Inbox) != 2 {
		t.Fatalf("after \\Seen: uid %d, %d messages", uid, count(mailbox.Inbox))
	}
	// Expunged: a new delivery is a new message.
	if err := mb.SetFlags(ctx, mailbox.Inbox, first, mailbox.Deleted); err != nil {
		t.Fatal(err)
	}
	if err := mb.Expunge(ctx, mailbox.Inbox, []uint32{first}); err != nil {
		t.Fatal(err)
	}
	if uid := deliver(mailbox.Inbox, msg); uid == 0 || count(mailbox.Inbox) != 2 {
		t.Fatalf("after expunge: uid %d, %d messages", uid, count(mailbox.Inbox))
	}
}
