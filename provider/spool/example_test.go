package spool_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/pecsdk/pec/provider/spool"
)

// A message goes through the spool: put before the SMTP 250, a step
// recorded with its output, the output sent as recorded, a relay
// retried, then the item completed.
func Example() {
	ctx := context.Background()
	sp := spool.NewMemory(nil) // spool.Open(ctx, dir, nil) on disk
	defer sp.Close()

	received := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	it := &spool.Item{ID: "q1", Role: spool.RoleAccess, From: "mario.rossi@pec.example.it",
		To: []string{"anna.bianchi@pec.example.org"}, User: "mario.rossi", Received: received}
	if err := sp.Put(ctx, it, strings.NewReader("Subject: offerta\r\n\r\n...\r\n")); err != nil {
		log.Fatal(err) // answer 451: the message is not accepted
	}
	// Now answer 250. Then, here or after a restart (sp.Pending):
	st, _ := sp.Get(ctx, "q1")
	if !st.Done("acceptance") {
		sp.Done(ctx, "q1", "acceptance", strings.NewReader("the signed acceptance receipt"))
	}
	r, _ := sp.Output(ctx, "q1", "acceptance") // the same bytes after any restart
	io.Copy(os.Stdout, r)
	r.Close()
	fmt.Println()

	n, _ := sp.Retry(ctx, "q1", "relay:pec.example.org", received.Add(time.Minute), "451 4.3.0 try later")
	due, _ := sp.Pending(ctx, &spool.PendingOptions{Due: received.Add(30 * time.Second)})
	fmt.Println("attempts:", n, "due after 30 s:", len(due))

	sp.Done(ctx, "q1", "relay:pec.example.org", nil)
	sp.Complete(ctx, "q1")
	left, _ := sp.Pending(ctx, nil)
	fmt.Println("pending:", len(left))
	// Output:
	// the signed acceptance receipt
	// attempts: 1 due after 30 s: 0
	// pending: 0
}

// Open a spool directory at start-up and finish what a crash left.
func ExampleOpen() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "spool")
	defer os.RemoveAll(dir)

	sp, err := spool.Open(ctx, dir, nil)
	if err != nil {
		log.Fatal(err) // spool.ErrLocked: another process has it
	}
	sp.Put(ctx, &spool.Item{ID: "q1", Role: spool.RoleIncoming, To: []string{"anna.bianchi@pec.example.org"}}, strings.NewReader("..."))
	sp.Done(ctx, "q1", "presa-in-carico", strings.NewReader("the signed receipt"))
	sp.Close() // or a crash: the same on disk

	sp, err = spool.Open(ctx, dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer sp.Close()
	for _, d := range sp.Damaged() {
		log.Print(d) // files to look at; their items are withheld
	}
	pending, _ := sp.Pending(ctx, nil)
	for _, st := range pending {
		fmt.Println(st.Item.ID, st.Item.Role, st.Steps)
	}
	// Output:
	// q1 incoming [presa-in-carico]
}
