package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/smime"
)

// The demo network: two PEC providers and an ordinary mail domain on
// 127.0.0.1, their ports a base of 10000, 20000 and 30000 plus the
// usual port (465, 993, 995, 25) and an offset (-port-offset).
const (
	demoMailDomain = "mail.test"
	demoMailBase   = 30000
)

// demoBase returns the port base of a demo provider.
func demoBase(id string) int {
	if id == "beta" {
		return 20000
	}
	return 10000
}

// demoAccount is an account of the demo network; its password is
// published, which is why the demo listens on loopback only.
type demoAccount struct {
	User, Password string
}

// demoAccounts are the accounts of the demo network.
func demoAccounts() []demoAccount {
	return []demoAccount{
		{User: "alice@pec.alfa.test", Password: "alice-demo"},
		{User: "bob@pec.beta.test", Password: "bob-demo"},
		{User: "carol@mail.test", Password: "carol-demo"},
		{User: "posta-certificata@pec.alfa.test", Password: "servizio-demo"},
		{User: "posta-certificata@pec.beta.test", Password: "servizio-demo"},
	}
}

// demoHashIterations is the PBKDF2 cost of the demo accounts: low, since
// their passwords are published anyway, so that logins are quick.
const demoHashIterations = 1000

// demoOptions configures startDemo.
type demoOptions struct {
	Dir        string
	PortOffset int // added to every port
	Log        *slog.Logger
	Now        func() time.Time
	// Node is given to every provider (retries, clock); LoopbackOnly is
	// always set.
	Node nodeOptions
}

// demoNetwork is the demo network, running.
type demoNetwork struct {
	Dir   string
	PKI   *demoPKI
	Nodes []*node // alfa, beta
	Mail  *plainMail
	Files []string // the files of the network, written or reused
}

// startDemo starts the demo network in this process: the PKI and index
// of opts.Dir (generated on the first start), a configuration file and
// an accounts file per provider, read back as -config reads them, the
// two providers and the plain mail server.
func startDemo(ctx context.Context, opts demoOptions) (_ *demoNetwork, err error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	if opts.PortOffset < 0 || opts.PortOffset+demoMailBase+995 > 65535 {
		return nil, fmt.Errorf("port offset %d out of range", opts.PortOffset)
	}
	d := &demoNetwork{Dir: opts.Dir}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	if d.PKI, err = loadDemoPKI(opts.Dir, now()); err != nil {
		return nil, err
	}
	d.Files = append(d.Files, d.PKI.Files...)
	port := func(base, p int) string {
		return "127.0.0.1:" + strconv.Itoa(base+p+opts.PortOffset)
	}
	routes := map[string]string{demoMailDomain: port(demoMailBase, 25)}
	for _, p := range demoProviders {
		for _, dom := range d.domains(p) {
			routes[dom] = port(demoBase(p.ID), 25)
		}
	}
	for _, p := range demoProviders {
		accounts := filepath.Join(opts.Dir, p.ID+".accounts")
		if err := d.writeAccounts(accounts, "@"+p.Domain); err != nil {
			return nil, err
		}
		cfg := d.providerConfig(p, port, routes)
		path := filepath.Join(opts.Dir, p.ID+".conf")
		var b strings.Builder
		fmt.Fprintf(&b, "# The configuration of %s in the demo network, written by pecd at\n# every start of the demo with the domains its index lists: run it alone\n# with pecd -config %s. A domain added here, with a reload (SIGHUP),\n# is listed in the index and kept at the next start.\n\n", p.Name, path)
		if err := WriteConfig(&b, cfg); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(path, []byte(b.String()), 0o644); err != nil {
			return nil, err
		}
		d.Files = append(d.Files, path)
		if cfg, err = LoadConfig(path); err != nil {
			return nil, err
		}
		no := opts.Node
		no.LoopbackOnly = true
		n, err := startNode(ctx, cfg, opts.Log.With("provider", p.ID), &no)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.ID, err)
		}
		d.Nodes = append(d.Nodes, n)
	}
	mailAccounts := filepath.Join(opts.Dir, "mail.accounts")
	if err := d.writeAccounts(mailAccounts, "@"+demoMailDomain); err != nil {
		return nil, err
	}
	users, err := loadAccounts(mailAccounts)
	if err != nil {
		return nil, err
	}
	srvTLS := &tls.Config{Certificates: []tls.Certificate{d.PKI.TLS}, MinVersion: tls.VersionTLS12}
	d.Mail, err = startPlainMail(demoMailDomain, port(demoMailBase, 25), port(demoMailBase, 993),
		filepath.Join(opts.Dir, "mail", "maildir"), users, routes, d.PKI.Anchors(), srvTLS, opts.Log.With("server", demoMailDomain))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", demoMailDomain, err)
	}
	return d, nil
}

// providerConfig is the configuration of a demo provider.
func (d *demoNetwork) providerConfig(p demoProvider, port func(base, p int) string, routes map[string]string) *Config {
	dir := d.Dir
	base := demoBase(p.ID)
	return &Config{
		Provider: ProviderConfig{
			Name: p.Name, Domains: d.domains(p),
			Certificate: filepath.Join(dir, p.ID+".pem"), Key: filepath.Join(dir, p.ID+".key"),
		},
		Listen: ListenConfig{
			Hostname:   p.Domain,
			Submission: port(base, 465), Incoming: port(base, 25), IMAP: port(base, 993), POP3: port(base, 995),
			Web: port(base, 443),
		},
		TLS: TLSConfig{Certificate: filepath.Join(dir, demoTLSCert), Key: filepath.Join(dir, demoTLSKey),
			OutboundAnchors: filepath.Join(dir, demoCA)},
		Index: IndexConfig{
			LDIF: filepath.Join(dir, demoIndexSigned), Anchors: filepath.Join(dir, demoCA),
			PublisherCertificate: filepath.Join(dir, demoPublisherCert), Refresh: DefaultRefresh,
			State:   filepath.Join(dir, p.ID, "index.state"),
			Publish: filepath.Join(dir, p.ID, "index-entry.ldif"),
		},
		Storage: StorageConfig{
			Spool: filepath.Join(dir, p.ID, "spool"), Maildir: filepath.Join(dir, p.ID, "maildir"),
			Trace: filepath.Join(dir, p.ID, "trace"), SealInterval: DefaultSealInterval,
			// No other program shares the demo's Maildirs: a lock left by
			// a crash is not worth two minutes of waiting.
			MaildirStaleLock: 5 * time.Second,
		},
		Limits:     LimitsConfig{MaxTotal: DefaultMaxTotal, MaxRecipients: DefaultMaxRecipients},
		TimeLimits: TimeLimitsConfig{Warning: DefaultWarning, Final: DefaultFinal},
		Accounts:   AccountsConfig{File: filepath.Join(dir, p.ID+".accounts")},
		Routes:     routes,
		Log:        LogConfig{Level: "info", Format: "text"},
	}
}

// domains returns the domains of a demo provider: its own, then those a
// reload added to its entry of the demo index.
func (d *demoNetwork) domains(p demoProvider) []string {
	out := []string{p.Domain}
	if e, ok := d.PKI.Index.Provider(p.Name); ok {
		for _, dom := range e.Domains {
			if !slices.Contains(out, dom) {
				out = append(out, dom)
			}
		}
	}
	return out
}

// writeAccounts writes the accounts file of the demo accounts whose
// address ends with suffix, unless it exists.
func (d *demoNetwork) writeAccounts(path, suffix string) error {
	d.Files = append(d.Files, path)
	if _, err := os.Stat(path); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var b strings.Builder
	b.WriteString("# Demo accounts: their passwords are published (pecd prints them).\n")
	for _, a := range demoAccounts() {
		if strings.HasSuffix(a.User, suffix) {
			b.WriteString(accountLine(a.User, a.Password, demoHashIterations) + "\n")
		}
	}
	return writeFileAtomic(path, []byte(b.String()), 0o600)
}

// Print writes what the network runs: every listener, account and file.
func (d *demoNetwork) Print(w io.Writer) {
	fmt.Fprintf(w, "pecd demo network in %s\n", d.Dir)
	if d.PKI.Created {
		fmt.Fprintln(w, "  generated a new test CA, provider certificates and index")
	} else {
		fmt.Fprintln(w, "  reused the test CA, provider certificates and index")
	}
	for i, p := range demoProviders {
		fmt.Fprintf(w, "\nPEC provider %s, domain %s (signs as %s)\n", p.Name, strings.Join(d.Nodes[i].prov.Domains(), ", "), d.PKI.Signers[p.ID].Address())
		for _, l := range d.Nodes[i].listeners {
			fmt.Fprintf(w, "  %-11s %-16s %s\n", l.Role, l.Addr(), l.TLS)
		}
	}
	fmt.Fprintf(w, "\nordinary mail domain %s (not PEC)\n", demoMailDomain)
	fmt.Fprintf(w, "  %-11s %-16s %s\n", "smtp", d.Mail.SMTPAddr, "STARTTLS offered")
	fmt.Fprintf(w, "  %-11s %-16s %s\n", "imap", d.Mail.IMAPAddr, "implicit TLS")
	fmt.Fprintln(w, "\naccounts (login = address):")
	for _, a := range demoAccounts() {
		fmt.Fprintf(w, "  %-33s %s\n", a.User, a.Password)
	}
	fmt.Fprintln(w, "\nfiles:")
	for _, f := range d.Files {
		fmt.Fprintf(w, "  %s\n", f)
	}
	ca := filepath.Join(d.Dir, demoCA)
	fmt.Fprintf(w, `
try:
  swaks --server %s --tls-on-connect --tls-verify --tls-ca-path %s --auth-user alice@pec.alfa.test --auth-password alice-demo \
        --from alice@pec.alfa.test --to bob@pec.beta.test --header 'Subject: prova'
  curl --cacert %s --user bob@pec.beta.test:bob-demo 'imaps://%s/INBOX;UID=1'
  pec verify --ldif %s FILE.eml
`, d.Nodes[0].listeners[0].Addr(), ca, ca, d.Nodes[1].addr("imap"), filepath.Join(d.Dir, demoIndexPlain))
}

// addr returns the address of the node's first listener of role.
func (n *node) addr(role string) string {
	for _, l := range n.listeners {
		if l.Role == role {
			return l.Addr()
		}
	}
	return ""
}

// Shutdown stops the network gracefully.
func (d *demoNetwork) Shutdown(ctx context.Context) error {
	var errs []error
	for _, n := range d.Nodes {
		errs = append(errs, n.Shutdown(ctx))
	}
	if d.Mail != nil {
		errs = append(errs, d.Mail.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// Close stops the network at once.
func (d *demoNetwork) Close() error {
	for _, n := range d.Nodes {
		n.Close()
	}
	if d.Mail != nil {
		d.Mail.Close()
	}
	return nil
}

// Reload reads again the configuration file of each provider, DIR/ID.conf,
// and its accounts file, and applies them as pecd -config does on SIGHUP
// (see reload.go). A domain added to one provider is routed to its
// incoming point by the others, unless their [routes] say otherwise, and
// the demo index (index.ldif and index.ldif.p7m) is written and signed
// again when the domains changed, then loaded by every provider. Every
// file is read and checked before any is applied: a mistake in one
// changes nothing.
func (d *demoNetwork) Reload(ctx context.Context) ([]string, error) {
	cfgs := make([]*Config, len(d.Nodes))
	for i, p := range demoProviders[:len(d.Nodes)] {
		path := filepath.Join(d.Dir, p.ID+".conf")
		cfg, err := LoadConfig(path)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(cfg.Provider.Domains, p.Domain) {
			return nil, fmt.Errorf("%s: the demo's %s must stay a domain of %s", path, p.Domain, p.ID)
		}
		if err := checkLoopback(cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		cfgs[i] = cfg
	}
	for i, cfg := range cfgs {
		for j, other := range cfgs {
			if i == j {
				continue
			}
			for _, dom := range other.Provider.Domains {
				if _, ok := cfg.Routes[dom]; !ok {
					if cfg.Routes == nil {
						cfg.Routes = map[string]string{}
					}
					cfg.Routes[dom] = other.Listen.Incoming
				}
			}
		}
	}
	// Check every accounts file before applying any configuration.
	for _, cfg := range cfgs {
		if _, err := loadAccounts(cfg.Accounts.File); err != nil {
			return nil, err
		}
	}
	var changed []string
	domains := false
	for i, n := range d.Nodes {
		was := n.cfg.Provider.Domains
		c, err := n.apply(ctx, cfgs[i])
		if err != nil {
			return changed, fmt.Errorf("%s: %w", demoProviders[i].ID, err)
		}
		domains = domains || !slices.Equal(was, cfgs[i].Provider.Domains)
		for _, s := range c {
			changed = append(changed, demoProviders[i].ID+": "+s)
		}
	}
	if !domains {
		return changed, nil
	}
	if err := d.writeIndex(time.Now()); err != nil {
		return changed, fmt.Errorf("demo index: %w", err)
	}
	for _, n := range d.Nodes {
		if err := n.mirror.Refresh(ctx); err != nil {
			return changed, fmt.Errorf("demo index: %w", err)
		}
	}
	return append(changed, "index signed again"), nil
}

// writeIndex writes the demo index, plain and signed by the demo's
// publisher, from the domains the providers serve now.
func (d *demoNetwork) writeIndex(now time.Time) error {
	var entries []index.Provider
	for i, p := range demoProviders[:len(d.Nodes)] {
		entries = append(entries, index.Provider{
			Name: p.Name, MailReceipt: p.Service(), Domains: d.Nodes[i].prov.Domains(),
			Certificates: []*x509.Certificate{d.PKI.Signers[p.ID].Certificate()}, Description: "demo provider of pecd",
		})
	}
	snap, err := index.New(entries)
	if err != nil {
		return err
	}
	var ldif bytes.Buffer
	if err := snap.WriteLDIF(&ldif); err != nil {
		return err
	}
	key, err := loadKeyFile(filepath.Join(d.Dir, demoPublisherKey))
	if err != nil {
		return err
	}
	pub, err := smime.NewSigner(key, []*x509.Certificate{d.PKI.Publisher}, nil)
	if err != nil {
		return err
	}
	p7m, err := pub.SignAttached(ldif.Bytes(), now)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(d.Dir, demoIndexPlain), ldif.Bytes(), 0o644); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(d.Dir, demoIndexSigned), p7m, 0o644)
}
