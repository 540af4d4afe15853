package pop3

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/provider/mailbox"
)

// TestArchiveOutlivesDele: a certified message deleted over POP3 (DELE,
// QUIT) leaves INBOX but stays in Archive, which POP3 cannot reach.
func TestArchiveOutlivesDele(t *testing.T) {
	ctx := context.Background()
	f := start(t, nil)
	b, err := f.store.Mailbox(ctx, "mario@pec.example.it")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.(mailbox.Archiver).DeliverArchived(ctx, mailbox.Inbox, strings.NewReader(msg1), 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	c := f.dialTLS(t)
	c.login()
	c.cmd("STAT", "+OK 1 "+itoa(len(msg1)))
	c.cmd("DELE 1", "+OK")
	c.cmd("QUIT", "+OK")
	if d, _ := b.List(ctx, mailbox.Inbox); len(d.Messages) != 0 {
		t.Fatalf("INBOX after DELE: %+v", d)
	}
	d, err := b.List(ctx, mailbox.Archive)
	if err != nil || len(d.Messages) != 1 {
		t.Fatalf("Archive after DELE: %+v, %v", d, err)
	}
	r, err := b.Open(ctx, mailbox.Archive, d.Messages[0].UID)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || string(got) != msg1 {
		t.Errorf("Archive copy %q, %v", got, err)
	}
}
