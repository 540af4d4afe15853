package pecnet

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/internal/dovecottest"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/provider"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
)

// Options configures Start. A nil *Options and zero fields mean the
// defaults.
type Options struct {
	// Users maps the login names (full addresses, in the domains
	// pec.<name>.example of Names) to passwords: Dovecot's users, and the
	// accounts of the provider of each one's domain.
	Users map[string]string
	// Names are the providers' names; nil: "mittente" and "destinatario",
	// the domains of package sample.
	Names []string
	// Silent names providers whose incoming point never answers: mail for
	// them waits at the sender's provider, which then sends the time-limit
	// notices (PEC.md §10.3).
	Silent []string
	// Warning and Final are the providers' time limits; zero: 2 and 4
	// seconds, so that a test sees both notices.
	Warning, Final time.Duration
}

// World is a network of providers whose mailboxes are a Dovecot's.
type World struct {
	Dovecot *dovecottest.Server
	// Net is the network; its providers' Store and IMAP servers are not
	// used: the messages are in Dovecot.
	Net *providertest.Network
}

// Start starts Dovecot and the providers, and stops them at the end of the
// test. A missing Dovecot skips the test, or fails it under CI=true.
func Start(tb testing.TB, opts *Options) *World {
	tb.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	if len(o.Names) == 0 {
		o.Names = []string{"mittente", "destinatario"}
	}
	if o.Warning <= 0 {
		o.Warning = 2 * time.Second
	}
	if o.Final <= o.Warning {
		o.Final = 2 * o.Warning
	}
	srv := dovecottest.Start(tb, &dovecottest.Options{Users: o.Users})
	store, err := mailbox.OpenMaildir(srv.Maildir(""), nil)
	if err != nil {
		tb.Fatal(err)
	}
	routes := provider.StaticRouter{}
	for _, name := range o.Silent {
		routes["pec."+name+".example"] = closedPort(tb)
	}
	n := providertest.NewNetwork(tb, &providertest.Options{
		Names:  append(o.Names, o.Silent...),
		Routes: routes,
		Configure: func(name string, c *provider.Config) {
			c.Store = store
			users := provider.NewAccounts(&mailbox.AccountsOptions{Iterations: 1})
			users.Set(c.ServiceMailbox, "servizio")
			for u, pass := range o.Users {
				if strings.EqualFold(pec.Domain(u), "pec."+name+".example") {
					users.Set(u, pass)
				}
			}
			c.Users = users
			c.WarnAfter, c.GiveUpAfter = o.Warning, o.Final
		},
	})
	return &World{Dovecot: srv, Net: n}
}

// Provider returns the provider named name.
func (w *World) Provider(name string) *providertest.Provider { return w.Net.Provider(name) }

// closedPort returns a loopback address where nothing listens.
func closedPort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
