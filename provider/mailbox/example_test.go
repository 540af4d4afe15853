package mailbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pecsdk/pec/provider/mailbox"
)

// A delivery point stores a message; a server lists and reads it.
func Example() {
	ctx := context.Background()
	store := mailbox.NewMemory() // or mailbox.OpenMaildir("/var/mail/pec", nil)
	box, err := store.Mailbox(ctx, "mario.rossi@pec.example.it")
	if err != nil {
		panic(err)
	}
	msg := "Subject: POSTA CERTIFICATA: prova\r\n\r\nciao\r\n"
	uid, err := box.Deliver(ctx, mailbox.Inbox, strings.NewReader(msg), 0, time.Time{})
	if err != nil {
		panic(err)
	}
	box.SetFlags(ctx, mailbox.Inbox, uid, mailbox.Seen)
	folder, _ := box.List(ctx, mailbox.Inbox)
	for _, m := range folder.Messages {
		fmt.Println(m.UID, m.Size, m.Flags)
	}
	r, _ := box.Open(ctx, mailbox.Inbox, uid)
	defer r.Close()
	data, _ := io.ReadAll(r)
	fmt.Printf("%q\n", data[:9])
	// Output:
	// 1 43 \Seen
	// "Subject: "
}

// The Delivery Point files a certified message in INBOX and in Archive;
// the user's deletion from INBOX leaves the Archive copy, and a mailbox
// over its quota refuses the next message.
func ExampleArchiver() {
	ctx := context.Background()
	store := mailbox.NewMemory() // or OpenMaildir with MaildirOptions.Quota
	store.SetQuota("mario.rossi@pec.example.it", 60)
	box, _ := store.Mailbox(ctx, "mario.rossi@pec.example.it")
	envelope := "X-Trasporto: posta-certificata\r\n\r\nbusta\r\n"
	uid, err := box.(mailbox.Archiver).DeliverArchived(ctx, mailbox.Inbox, strings.NewReader(envelope), 0, time.Time{})
	if err != nil {
		panic(err)
	}
	box.Expunge(ctx, mailbox.Inbox, []uint32{uid})
	archive, _ := box.List(ctx, mailbox.Archive)
	fmt.Println(len(archive.Messages), archive.Messages[0].Flags)
	err = box.Expunge(ctx, mailbox.Archive, []uint32{archive.Messages[0].UID})
	fmt.Println(errors.Is(err, mailbox.ErrReadOnly))

	_, err = box.Deliver(ctx, mailbox.Inbox, strings.NewReader(strings.Repeat("x", 61)), 0, time.Time{})
	fmt.Println(errors.Is(err, mailbox.ErrQuota))
	usage, _ := box.(mailbox.Metered).Usage(ctx)
	fmt.Println(usage.Bytes, usage.Limit)
	// Output:
	// 1 \Seen
	// true
	// true
	// 0 60
}
