package providertest_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/provider/providertest"
)

func endpoint(addr string) client.Endpoint {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return client.Endpoint{Host: host, Port: p, Security: client.SecurityTLS}
}

// A PEC from alice, at provider alpha, to bob, at provider beta, followed
// with the client's tracker until bob's delivery receipt is in alice's
// mailbox. In a test, NewNetwork(t, nil) starts the same network and stops
// it at the end.
func Example() {
	n, err := providertest.Start(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer n.Close()
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "alice-secret")
	bob := beta.AddUser("bob", "bob-secret")

	dir, err := os.MkdirTemp("", "pec-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	tr, err := client.OpenTracker(dir+"/tracker", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub, err := client.Send(ctx, &client.Draft{
		From: alice, To: []string{bob}, Subject: "Offerta", Text: "In allegato l'offerta.",
	}, &client.SubmitOptions{
		Server: endpoint(alpha.Submission), TLSConfig: n.ClientTLS(),
		Username: alice, Password: "alice-secret", Tracker: tr,
	})
	if err != nil {
		log.Fatal(err)
	}
	for {
		_, err := client.Fetch(ctx, &client.FetchOptions{
			Server: endpoint(alpha.IMAP), TLSConfig: n.ClientTLS(),
			Username: alice, Password: "alice-secret", Dir: dir + "/mail",
			Tracker: tr, Verify: n.VerifyOptions(),
		})
		if err != nil {
			log.Fatal(err)
		}
		st, ok := tr.Status(sub.MessageID)
		if ok && st.Final() {
			for _, r := range st.Recipients {
				fmt.Println(r.Address, r.State)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Output:
	// bob@pec.beta.example delivered
}
