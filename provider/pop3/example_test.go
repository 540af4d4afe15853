package pop3_test

import (
	"crypto/tls"
	"log"
	"net"

	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/pop3"
)

// Serve POP3S on port 995 and POP3 with STLS on port 110.
func Example() {
	var cert tls.Certificate // the provider's server certificate
	conf := &tls.Config{Certificates: []tls.Certificate{cert}}
	store, err := mailbox.OpenMaildir("/var/mail/pec", nil)
	if err != nil {
		log.Fatal(err)
	}
	accounts := mailbox.NewAccounts(nil)
	accounts.Set("mario.rossi@pec.example.it", "a long passphrase")
	srv := pop3.New(store, accounts, &pop3.Options{TLSConfig: conf})
	ln, err := tls.Listen("tcp", ":995", conf)
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(ln)
	plain, err := net.Listen("tcp", ":110")
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(srv.Serve(plain))
}
