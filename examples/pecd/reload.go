package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/smime"
)

// What a reload (SIGHUP) changes in a running provider, and what needs a
// restart:
//
//   - live: [provider] domain (the domains served, and the entry
//     published), the accounts file (accounts, passwords, options) and
//     [accounts] ordinary, [routes];
//   - after a restart only: everything else (listeners, certificates and
//     keys, the index source, storage, limits, time limits, log). A reload
//     that finds them changed applies the rest and says, in the log, which
//     keys wait for a restart.
//
// A reload that finds an error (in the configuration, in the accounts
// file, in writing the published entry) changes nothing and keeps the
// configuration that runs.

// reload reads the configuration file at path and the accounts file it
// names, and applies what can change while the node runs. It returns
// what changed, in words, for the log.
func (n *node) reload(ctx context.Context, path string) ([]string, error) {
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	return n.apply(ctx, cfg)
}

// apply makes cfg the node's configuration, as far as it can change
// live; see reload.
func (n *node) apply(ctx context.Context, cfg *Config) ([]string, error) {
	n.reloadMu.Lock()
	defer n.reloadMu.Unlock()
	old := n.cfg
	users, err := loadAccounts(cfg.Accounts.File)
	if err != nil {
		return nil, err
	}
	if err := refuseDemoPasswords(ctx, cfg, users); err != nil {
		return nil, err
	}
	if err := checkQuotas(old, users); err != nil { // [storage] is not reloaded
		return nil, err
	}
	var changed []string
	if !slices.Equal(old.Provider.Domains, cfg.Provider.Domains) {
		if err := publishEntry(cfg, n.signer, nil); err != nil {
			return nil, err
		}
		if err := n.prov.SetDomains(cfg.Provider.Domains); err != nil {
			return nil, err
		}
		changed = append(changed, fmt.Sprintf("domains %s (were %s)", strings.Join(cfg.Provider.Domains, ", "), strings.Join(old.Provider.Domains, ", ")))
	}
	if diff := accountsDiff(n.users, users); diff != "" {
		changed = append(changed, "accounts: "+diff)
	}
	n.users.replace(users)
	if old.Accounts.Ordinary != cfg.Accounts.Ordinary {
		changed = append(changed, "ordinary mail: "+cfg.Accounts.Ordinary)
	}
	n.setOrdinary(cfg.Accounts.Ordinary)
	if !maps.Equal(old.Routes, cfg.Routes) {
		changed = append(changed, fmt.Sprintf("routes: %d domains", len(cfg.Routes)))
	}
	n.router.set(cfg.Routes)

	// Keep what needs a restart as it runs, and say so.
	next := *old
	next.Provider.Domains = cfg.Provider.Domains
	next.Accounts = cfg.Accounts
	next.Routes = cfg.Routes
	for _, k := range restartOnly(old, cfg) {
		n.log.Warn("reload: changed in the configuration, applied at the next start", "key", k)
	}
	n.cfg = &next
	return changed, nil
}

// restartOnly names the sections of b that differ from a and cannot
// change live.
func restartOnly(a, b *Config) []string {
	var out []string
	pa, pb := a.Provider, b.Provider
	pa.Domains, pb.Domains = nil, nil
	for _, s := range []struct {
		name string
		x, y any
	}{
		{"[provider]", pa, pb}, {"[listen]", a.Listen, b.Listen}, {"[tls]", a.TLS, b.TLS},
		{"[index]", a.Index, b.Index}, {"[storage]", a.Storage, b.Storage}, {"[limits]", a.Limits, b.Limits},
		{"[time-limits]", a.TimeLimits, b.TimeLimits}, {"[log]", a.Log, b.Log},
	} {
		if !reflect.DeepEqual(s.x, s.y) {
			out = append(out, s.name)
		}
	}
	return out
}

// accountsDiff says which accounts b adds to a or removes from it, and
// how many lines changed; "" when none.
func accountsDiff(a, b *fileAccounts) string {
	ta, tb := a.cur.Load(), b.cur.Load()
	var added, removed []string
	changed := 0
	for u, x := range tb.users {
		y, ok := ta.users[u]
		switch {
		case !ok:
			added = append(added, u)
		case !reflect.DeepEqual(x, y):
			changed++
		}
	}
	for u := range ta.users {
		if _, ok := tb.users[u]; !ok {
			removed = append(removed, u)
		}
	}
	if len(added)+len(removed)+changed == 0 {
		return ""
	}
	slices.Sort(added)
	slices.Sort(removed)
	return fmt.Sprintf("added %q, removed %q, %d changed", added, removed, changed)
}

// publishEntry writes the provider's own entry of the index to [index]
// publish, when set: as LDIF, and signed by the provider (publish+".p7m").
// Both are replaced whole, the signed one last.
func publishEntry(cfg *Config, signer *smime.Signer, now func() time.Time) error {
	path := cfg.Index.Publish
	if path == "" {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	mr := cfg.Provider.ServiceMailbox
	if mr == "" {
		mr = signer.Address()
	}
	snap, err := index.New([]index.Provider{{
		Name: cfg.Provider.Name, MailReceipt: mr, Domains: cfg.Provider.Domains,
		Certificates: []*x509.Certificate{signer.Certificate()},
	}})
	if err != nil {
		return fmt.Errorf("index entry: %w", err)
	}
	var b bytes.Buffer
	if err := snap.WriteLDIF(&b); err != nil {
		return err
	}
	p7m, err := signer.SignAttached(b.Bytes(), now())
	if err != nil {
		return fmt.Errorf("index entry: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := writeFileAtomic(path, b.Bytes(), 0o644); err != nil {
		return err
	}
	return writeFileAtomic(path+".p7m", p7m, 0o644)
}
