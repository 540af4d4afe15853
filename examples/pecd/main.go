// Command pecd is the reference PEC provider: an access point, an
// incoming point and a delivery point (package provider), with IMAP and
// POP3 for its users, a durable spool, Maildir mailboxes and the legal
// trace.
//
//	pecd                          the demo network on 127.0.0.1, state in ./pecd-data
//	pecd -data DIR                the same, state in DIR
//	pecd -config FILE             one provider, as FILE describes (pecd.conf.example)
//	pecd -config FILE -check      read FILE, its certificates, keys and index, and exit
//	pecd -hash-password           read a password on standard input, print its hash
//
// With no flags it starts a demo network in one process: two PEC
// providers (pec.alfa.test, pec.beta.test) and an ordinary mail domain
// (mail.test), with a test CA, provider certificates and a signed index
// generated in DIR on the first start and reused after, and prints every
// listener, account and file. Its passwords are published: it listens on
// loopback addresses only.
//
// SIGHUP reloads: pecd -config reads its configuration file and accounts
// file again and applies what can change while it runs (the domains and
// the index entry it publishes, the accounts and their options, the
// routes: see reload.go), logging what changed; a file with an error is
// reported and the running configuration kept. The demo network reloads
// the configuration files it wrote in DIR the same way, and signs its
// index again when a provider's domains changed.
//
// SIGINT or SIGTERM stops it gracefully: no new connection is accepted,
// sessions and messages under way finish (up to -shutdown-timeout), and
// what was accepted and not processed stays in the spool for the next
// start.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// main runs the program until SIGINT or SIGTERM.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	reloads = hup
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// reloads delivers SIGHUP to run; nil (never) when run is called by a
// test.
var reloads <-chan os.Signal

// run is the program: it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pecd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "pecd-data", "directory of the demo network's state")
	config := fs.String("config", "", "run the provider of this configuration file instead of the demo network")
	check := fs.Bool("check", false, "with -config: check the configuration, certificates, keys and index, then exit")
	hash := fs.Bool("hash-password", false, "read a password on standard input and print the hash for the accounts file")
	offset := fs.Int("port-offset", 0, "demo network: add this to every port")
	grace := fs.Duration("shutdown-timeout", 30*time.Second, "how long a shutdown waits for the work under way")
	level := fs.String("log-level", "", "debug, info, warn or error (default: the configuration's, info for the demo)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "pecd: unexpected arguments:", strings.Join(fs.Args(), " "))
		return 2
	}
	switch {
	case *check && *config == "":
		fmt.Fprintln(stderr, "pecd: -check needs -config")
		return 2
	case *config != "" && *offset != 0:
		fmt.Fprintln(stderr, "pecd: -port-offset is for the demo network; a configuration names its addresses")
		return 2
	}
	var err error
	switch {
	case *hash:
		err = hashPassword(stdin, stdout)
	case *config != "":
		err = runConfig(ctx, *config, *check, *level, *grace, stdout, stderr)
	default:
		err = runDemo(ctx, demoOptions{Dir: *data, PortOffset: *offset}, *level, *grace, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "pecd:", err)
		return 1
	}
	return 0
}

// runDemo starts the demo network and serves until ctx is done.
func runDemo(ctx context.Context, opts demoOptions, level string, grace time.Duration, stdout, stderr io.Writer) error {
	if level == "" {
		level = "info"
	}
	log, err := newLogger(stderr, level, "text")
	if err != nil {
		return err
	}
	opts.Log = log
	d, err := startDemo(ctx, opts)
	if err != nil {
		return err
	}
	d.Print(stdout)
	var errc <-chan error
	if len(d.Nodes) > 0 {
		errc = merge(d.Nodes)
	}
	reload := func() {
		if changed, err := d.Reload(ctx); err != nil {
			log.Error("reload refused: the running configuration is kept", "err", err)
		} else {
			log.Info("reloaded", "changed", changed)
		}
	}
	return serveUntil(ctx, errc, grace, d.Shutdown, reload, log)
}

// runConfig runs the provider of a configuration file.
func runConfig(ctx context.Context, path string, checkOnly bool, level string, grace time.Duration, stdout, stderr io.Writer) error {
	cfg, err := LoadConfig(path)
	if err != nil {
		return err
	}
	if level == "" {
		level = cfg.Log.Level
	}
	log, err := newLogger(stderr, level, cfg.Log.Format)
	if err != nil {
		return err
	}
	if checkOnly {
		if err := checkConfig(ctx, cfg); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: configuration, certificates, keys, accounts and index are usable\n", path)
		return nil
	}
	n, err := startNode(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pecd: %s (%s)\n", cfg.Provider.Name, strings.Join(cfg.Provider.Domains, ", "))
	for _, l := range n.listeners {
		fmt.Fprintf(stdout, "  %-11s %-21s %s\n", l.Role, l.Addr(), l.TLS)
	}
	reload := func() {
		if changed, err := n.reload(ctx, path); err != nil {
			log.Error("reload refused: the running configuration is kept", "err", err)
		} else {
			log.Info("reloaded", "file", path, "changed", changed)
		}
	}
	return serveUntil(ctx, n.Err(), grace, n.Shutdown, reload, log)
}

// serveUntil calls reload at each SIGHUP until ctx is done (a signal)
// or a server fails, then shuts down within grace.
func serveUntil(ctx context.Context, errc <-chan error, grace time.Duration, shutdown func(context.Context) error, reload func(), log *slog.Logger) error {
	var failed error
wait:
	for {
		select {
		case <-reloads:
			reload()
		case <-ctx.Done():
			log.Info("shutting down", "grace", grace)
			break wait
		case failed = <-errc:
			log.Error("shutting down after a failure", "err", failed)
			break wait
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return errors.Join(failed, err)
	}
	return failed
}

// merge returns a channel that reports the first failure of any node.
func merge(nodes []*node) <-chan error {
	out := make(chan error, 1)
	for _, n := range nodes {
		go func() {
			if err, ok := <-n.Err(); ok {
				select {
				case out <- err:
				default:
				}
			}
		}()
	}
	return out
}

// checkConfig opens what a configuration names without serving: the
// signer, the TLS certificate, the accounts, Dovecot's LMTP service when
// it holds the mailboxes, and the index.
func checkConfig(ctx context.Context, cfg *Config) error {
	if _, err := openSigner(ctx, cfg.Provider); err != nil {
		return err
	}
	if _, _, err := loadTLS(cfg.TLS); err != nil {
		return err
	}
	users, err := loadAccounts(cfg.Accounts.File)
	if err != nil {
		return err
	}
	if err := refuseDemoPasswords(ctx, cfg, users); err != nil {
		return err
	}
	if err := checkQuotas(cfg, users); err != nil {
		return err
	}
	if cfg.Storage.Mailbox != DefaultMailbox {
		network, address, err := lmtpAddress(cfg.Storage.Mailbox)
		if err != nil {
			return err
		}
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		c, err := d.DialContext(dctx, network, address)
		if err != nil {
			return fmt.Errorf("[storage] mailbox: Dovecot's LMTP service does not answer: %w", err)
		}
		c.Close()
	}
	_, err = openIndex(ctx, cfg.Index, nil)
	return err
}

// hashPassword reads one line, the password, and prints its hash.
func hashPassword(stdin io.Reader, stdout io.Writer) error {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return errors.New("no password on standard input")
	}
	fmt.Fprintln(stdout, newHash(pw, DefaultHashIterations).String())
	return nil
}

// newLogger returns a logger writing to w at level, as text or JSON.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	o := &slog.HandlerOptions{Level: l}
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}
