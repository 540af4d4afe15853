package lmtp_test

import (
	"context"
	"log"
	"strings"
	"time"

	"github.com/pecsdk/pec/provider/lmtp"
	"github.com/pecsdk/pec/provider/mailbox"
)

// A provider that already runs Dovecot hands its deposits to Dovecot's LMTP
// listener: the Store takes the place of the Maildir in provider.Config.
func ExampleNew() {
	var store mailbox.Store = lmtp.New(&lmtp.Options{Address: "127.0.0.1:24", Delimiter: "+"})
	ctx := context.Background()
	box, err := store.Mailbox(ctx, "mario@pec.example.it")
	if err != nil {
		log.Fatal(err)
	}
	msg := "Subject: prova\r\n\r\nciao\r\n"
	if _, err := box.Deliver(ctx, mailbox.Inbox, strings.NewReader(msg), 0, time.Time{}); err != nil {
		log.Print(err)
	}
}
