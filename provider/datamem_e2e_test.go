package provider_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/pecsdk/pec/provider"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
)

// TestDataMemoryBound submits many large messages at once to a provider
// whose memory for DATA bodies fits two of them: each gets a 250 or a
// 452 (never a permanent refusal), and every message accepted is
// processed to its end: its acceptance and delivery receipts reach the
// sender.
func TestDataMemoryBound(t *testing.T) {
	const size = 256 << 10
	n := providertest.NewNetwork(t, &providertest.Options{Configure: func(_ string, c *provider.Config) {
		c.MaxTotal = 1 << 20
		c.DataMemory = 2*size + 256<<10
	}})
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	const senders = 12
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted int
	)
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: large %d\r\n\r\n%s", alice, bob, i, strings.Repeat("una riga del messaggio\r\n", size/24))
			err := rawSubmit(t, n, alpha, alice, "a-pass", alice, []string{bob}, []byte(msg))
			mu.Lock()
			defer mu.Unlock()
			var se *smtp.SMTPError
			switch {
			case err == nil:
				accepted++
			case errors.As(err, &se) && se.Code/100 == 4:
				t.Logf("sender %d: %v", i, err)
			default:
				t.Errorf("sender %d: %v, want a 250 or a 4xx", i, err)
			}
		}()
	}
	wg.Wait()
	if accepted == 0 {
		t.Fatal("no message accepted")
	}
	waitMessages(t, alpha, alice, mailbox.Inbox, 2*accepted)
	waitMessages(t, beta, bob, mailbox.Inbox, accepted)
	waitIdle(t, alpha)
	waitIdle(t, beta)
	a, _ := alpha.Messages(alice, mailbox.Inbox)
	b, _ := beta.Messages(bob, mailbox.Inbox)
	if len(a) != 2*accepted || len(b) != accepted {
		t.Fatalf("alice has %d receipts, bob %d messages; want %d and %d", len(a), len(b), 2*accepted, accepted)
	}
	t.Logf("%d of %d accepted", accepted, senders)
}
