package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/index"
)

// TestCustomDomainReload adds a custom domain, pec.customer.test, to the
// configuration file of the demo's provider alfa and an account in it to
// its accounts file, then reloads as SIGHUP does: the domain is served
// without a restart, the index alfa publishes and the demo index list it,
// and alice@pec.customer.test exchanges certified mail with bob of beta
// both ways, each with its acceptance and delivery receipt. A reload of a
// broken file is refused and changes nothing.
func TestCustomDomainReload(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	swaks := needSwaks(t)
	needTool(t, "curl", "curl")
	dir := t.TempDir()
	d := startTestDemo(t, dir)
	alfa, beta := d.Nodes[0], d.Nodes[1]
	ca := filepath.Join(dir, demoCA)
	const custom, customer, customerPW = "pec.customer.test", "alice@pec.customer.test", "cliente-demo"
	ctx := context.Background()

	rcptAt := func(server, to string) (string, error) {
		return runSwaks(t, swaks, "--server", server, "--tls", "--tls-verify", "--tls-ca-path", ca,
			"--from", "bob@pec.beta.test", "--to", to, "--quit-after", "RCPT")
	}
	if out, err := rcptAt(alfa.addr("incoming"), customer); err == nil || !strings.Contains(out, "550 5.7.1 relaying denied") {
		t.Fatalf("before the reload, alfa's incoming point took %s: %v\n%s", customer, err, out)
	}

	appendTo := func(path, text string) []byte {
		old, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(slices.Clone(old), text...), 0o644); err != nil {
			t.Fatal(err)
		}
		return old
	}
	conf, accounts := filepath.Join(dir, "alfa.conf"), filepath.Join(dir, "alfa.accounts")
	appendTo(conf, "\n[provider]\ndomain = "+custom+"\n")
	appendTo(accounts, accountLine(customer, customerPW, demoHashIterations)+"\n")
	changed, err := d.Reload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.Join(changed, "; "); !strings.Contains(s, "domains pec.alfa.test, "+custom) ||
		!strings.Contains(s, customer) || !strings.Contains(s, "index signed again") {
		t.Errorf("reload says %q", changed)
	}

	t.Run("index lists the domain", func(t *testing.T) {
		read := func(path string) *index.Snapshot {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s, err := index.ParseLDIF(f)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			return s
		}
		for _, path := range []string{filepath.Join(dir, "alfa", "index-entry.ldif"), filepath.Join(dir, demoIndexPlain)} {
			e, ok := read(path).Domain(custom)
			if !ok || e.Name != "Gestore Alfa S.p.A." || !slices.Contains(e.Domains, "pec.alfa.test") {
				t.Errorf("%s: %s is not listed under alfa: %+v", path, custom, e)
			}
		}
		p7m, err := os.ReadFile(filepath.Join(dir, "alfa", "index-entry.ldif.p7m"))
		if err != nil {
			t.Fatal(err)
		}
		signed, err := index.ParseSignedLDIF(p7m, &index.SignedOptions{Anchors: d.PKI.Anchors(), Publisher: &index.Publisher{Email: "posta-certificata@pec.alfa.test"}})
		if err != nil {
			t.Fatalf("alfa's signed entry: %v", err)
		}
		if _, ok := signed.Domain(custom); !ok {
			t.Errorf("alfa's signed entry does not list %s", custom)
		}
		if e, ok := beta.mirror.Domain(custom); !ok || e.Name != "Gestore Alfa S.p.A." {
			t.Errorf("beta's index: %s → %+v, %v", custom, e, ok)
		}
	})

	has := func(subj, k, v string) func([]fetched) bool {
		return func(m []fetched) bool { return len(about(m, subj, k, v)) >= 1 }
	}
	customBox := func() []fetched { return imapFetchAll(t, ca, alfa.addr("imap"), customer, customerPW) }
	bobBox := func() []fetched { return imapFetchAll(t, ca, beta.addr("imap"), "bob@pec.beta.test", "bob-demo") }
	submit := func(t *testing.T, server, user, password, to, subj string) {
		t.Helper()
		if out, err := runSwaks(t, swaks, "--server", server, "--tls-on-connect", "--tls-verify", "--tls-ca-path", ca,
			"--auth", "PLAIN", "--auth-user", user, "--auth-password", password,
			"--from", user, "--to", to, "--header", "Subject: "+subj, "--body", "Dominio personalizzato.\n"); err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
	}
	receipts := func(t *testing.T, who string, box func() []fetched, subj string) {
		t.Helper()
		waitFor(t, "acceptance and delivery receipt for "+who, 30*time.Second, box, func(m []fetched) bool {
			return has(subj, "X-Ricevuta", "accettazione")(m) && has(subj, "X-Ricevuta", "avvenuta-consegna")(m)
		})
	}

	t.Run("custom domain to beta", func(t *testing.T) {
		const subj = "dal dominio personalizzato"
		submit(t, alfa.addr("submission"), customer, customerPW, "bob@pec.beta.test", subj)
		receipts(t, customer, customBox, subj)
		env := waitFor(t, "envelope for bob", 30*time.Second, bobBox, has(subj, "X-Trasporto", "posta-certificata"))
		e := about(env, subj, "X-Trasporto", "posta-certificata")[0]
		if from := e.Get("Reply-To") + e.Get("From"); !strings.Contains(from, customer) {
			t.Errorf("envelope from %q", from)
		}
	})
	t.Run("beta to custom domain", func(t *testing.T) {
		const subj = "al dominio personalizzato"
		submit(t, beta.addr("submission"), "bob@pec.beta.test", "bob-demo", customer, subj)
		receipts(t, "bob", bobBox, subj)
		waitFor(t, "envelope for "+customer, 30*time.Second, customBox, has(subj, "X-Trasporto", "posta-certificata"))
	})

	t.Run("broken files are refused", func(t *testing.T) {
		for _, tt := range []struct {
			name, path, text, want string
		}{
			{"configuration", conf, "\n[provider]\ndomain = pec..test\n", conf + ":"},
			{"accounts", accounts, "rotto\n", accounts + ":"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				old := appendTo(tt.path, tt.text)
				defer os.WriteFile(tt.path, old, 0o644)
				appendTo(conf, "\n[provider]\ndomain = pec.other.test\n")
				defer func() {
					b, _ := os.ReadFile(conf)
					os.WriteFile(conf, []byte(strings.TrimSuffix(string(b), "\n[provider]\ndomain = pec.other.test\n")), 0o644)
				}()
				if _, err := d.Reload(ctx); err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("reload = %v, want an error naming %s", err, tt.want)
				}
				if got := alfa.prov.Domains(); !slices.Equal(got, []string{"pec.alfa.test", custom}) {
					t.Errorf("after a refused reload, alfa serves %q", got)
				}
				if ok, _ := alfa.users.Exists(ctx, customer); !ok {
					t.Errorf("after a refused reload, %s is gone", customer)
				}
			})
		}
		if out, err := rcptAt(alfa.addr("incoming"), customer); err != nil {
			t.Errorf("after the refused reloads, alfa's incoming point refuses %s: %v\n%s", customer, err, out)
		}
	})
}

// TestDemoKeepsDomains adds a domain to the demo's alfa.conf, reloads,
// and starts the demo again in the same directory: the configuration it
// writes keeps the domain its index lists, alfa serves it, beta routes it
// to alfa's incoming point, and the index is the one the reload signed.
func TestDemoKeepsDomains(t *testing.T) {
	dir := t.TempDir()
	var first *demoNetwork
	for range 8 {
		// An attempt refused for a busy port leaves the PKI, which the
		// next one reuses: only the ports change.
		d, err := startDemo(context.Background(), demoOptions{Dir: dir, PortOffset: 1000 + int(time.Now().UnixNano()%33000),
			Log: testLogger(t), Node: testNodeOptions})
		if err == nil {
			first = d
			break
		}
		if !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
	}
	if first == nil {
		t.Fatal("no free ports for the demo")
	}
	conf := filepath.Join(dir, "alfa.conf")
	b, err := os.ReadFile(conf)
	if err != nil {
		first.Close()
		t.Fatal(err)
	}
	os.WriteFile(conf, append(b, "\n[provider]\ndomain = pec.customer.test\n"...), 0o644)
	_, err = first.Reload(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first.Shutdown(ctx)
	if err != nil {
		t.Fatal(err)
	}

	d := startTestDemo(t, dir)
	alfa, beta := d.Nodes[0], d.Nodes[1]
	if got := alfa.prov.Domains(); !slices.Equal(got, []string{"pec.alfa.test", "pec.customer.test"}) {
		t.Errorf("after a restart alfa serves %q", got)
	}
	if c, err := LoadConfig(conf); err != nil {
		t.Error(err)
	} else if !slices.Contains(c.Provider.Domains, "pec.customer.test") {
		t.Errorf("alfa.conf written again with the domains %q", c.Provider.Domains)
	}
	if got := beta.cfg.Routes["pec.customer.test"]; got != alfa.addr("incoming") {
		t.Errorf("beta routes pec.customer.test to %q, alfa's incoming point is %s", got, alfa.addr("incoming"))
	}
	if e, ok := beta.mirror.Domain("pec.customer.test"); !ok || e.Name != "Gestore Alfa S.p.A." {
		t.Errorf("beta's index: pec.customer.test → %+v", e)
	}
}
