package provider_test

import (
	"context"
	"crypto/tls"
	"log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"time"

	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/provider"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/spool"
	"github.com/pecsdk/pec/trace/filestore"
)

// New wires a provider from its parts: the signing key, the index, a spool
// directory, the Maildir store, the accounts and the trace, then serves
// submission on 465 (implicit TLS) and 587 (STARTTLS) and the incoming
// point on 25, until an interrupt asks for a graceful stop.
func ExampleNew() {
	var (
		signer  *smime.Signer // the provider's key and certificate (PEC.md §12.3)
		idx     index.Index   // an index.Mirror of the published index
		certTLS tls.Certificate
	)
	ctx := context.Background()
	sp, err := spool.Open(ctx, "/var/spool/pec", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer sp.Close()
	store, err := mailbox.OpenMaildir("/var/mail/pec", nil)
	if err != nil {
		log.Fatal(err)
	}
	tr, err := filestore.Open(ctx, "/var/log/pec-trace", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	users := provider.NewAccounts(nil)
	users.Set("mario.rossi@pec.example.it", "secret")

	p, err := provider.New(&provider.Config{
		Name:    "Example PEC S.p.A.",
		Address: "posta-certificata@pec.example.it",
		Domains: []string{"pec.example.it"},
		Signer:  signer, Index: idx,
		Spool: sp, Store: store, Users: users, Trace: tr,
		TLS:    &tls.Config{Certificates: []tls.Certificate{certTLS}},
		Router: &provider.MXRouter{}, // port 25 of each domain's MX
		Logger: slog.Default(),
	})
	if err != nil {
		log.Fatal(err)
	}
	serve := func(addr string, implicitTLS bool, f func(net.Listener) error) {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			log.Fatal(err)
		}
		if implicitTLS {
			l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{certTLS}})
		}
		go f(l)
	}
	serve(":465", true, p.ServeSubmission)
	serve(":587", false, p.ServeSubmission)
	serve(":25", false, p.ServeIncoming)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	<-stop
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		log.Print(err)
	}
}
