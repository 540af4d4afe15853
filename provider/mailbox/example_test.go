package mailbox_test

import (
	"context"
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
