package web_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/web"
)

// The web view of a provider's mailboxes on loopback. A provider passes
// its own store and accounts, and the provider index in Options.Verify so
// that receipts count as evidence.
func Example() {
	store := mailbox.NewMemory()
	accounts := mailbox.NewAccounts(nil)
	accounts.Set("alice@pec.example.it", "alice-secret")
	srv := web.New(store, accounts, &web.Options{
		// Verify: &smime.VerifyOptions{Authority: providerIndex},
		Throttle: &mailbox.Throttle{}, // share the provider's
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(l)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()

	resp, err := http.Get("http://" + l.Addr().String() + "/login?lang=en")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Security-Policy") != "")
	// Output: 200 true
}
