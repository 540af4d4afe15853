package imap_test

import (
	"crypto/tls"
	"log"
	"net"

	"github.com/pecsdk/pec/provider/imap"
	"github.com/pecsdk/pec/provider/mailbox"
)

// Serve IMAPS on port 993 and IMAP with STARTTLS on port 143, sharing the
// login throttle with the provider's other servers.
func Example() {
	var cert tls.Certificate // the provider's server certificate
	store, err := mailbox.OpenMaildir("/var/mail/pec", nil)
	if err != nil {
		log.Fatal(err)
	}
	accounts := mailbox.NewAccounts(nil)
	accounts.Set("mario.rossi@pec.example.it", "a long passphrase")
	srv := imap.New(store, accounts, &imap.Options{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		Throttle:  &mailbox.Throttle{},
	})
	ln, err := net.Listen("tcp", ":993")
	if err != nil {
		log.Fatal(err)
	}
	go srv.ServeTLS(ln)
	plain, err := net.Listen("tcp", ":143")
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(srv.Serve(plain))
}
