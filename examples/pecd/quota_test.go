package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec"
)

// TestAccountQuotaReload runs the demo network, gives bob a quota of 4 kB
// on his line of beta's accounts file and reloads (as SIGHUP does): a
// certified message from alice is refused, and she gets a non-delivery
// notice saying bob's mailbox is full. With quota=1MB and another reload,
// the next one is delivered.
func TestAccountQuotaReload(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	swaks := needSwaks(t)
	needTool(t, "curl", "curl")
	dir := t.TempDir()
	d := startTestDemo(t, dir)
	alfa := d.Nodes[0]
	ca := filepath.Join(dir, demoCA)
	accounts := filepath.Join(dir, "beta.accounts")
	orig, err := os.ReadFile(accounts)
	if err != nil {
		t.Fatal(err)
	}
	bobLine := regexp.MustCompile(`(?m)^(bob@pec\.beta\.test .*?)\s*$`)
	if !bobLine.Match(orig) {
		t.Fatalf("no line for bob in %s:\n%s", accounts, orig)
	}
	setQuota := func(q string) {
		t.Helper()
		if err := os.WriteFile(accounts, bobLine.ReplaceAll(orig, []byte("$1 quota="+q)), 0o600); err != nil {
			t.Fatal(err)
		}
		changed, err := d.Reload(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if s := strings.Join(changed, "; "); !strings.Contains(s, "accounts: ") || !strings.Contains(s, "1 changed") {
			t.Errorf("reload with quota=%s: changed %q", q, s)
		}
	}
	send := func(subj string) {
		t.Helper()
		if out, err := runSwaks(t, swaks, "--server", alfa.addr("submission"), "--tls-on-connect", "--tls-verify",
			"--tls-ca-path", ca, "--auth", "PLAIN", "--auth-user", "alice@pec.alfa.test", "--auth-password", "alice-demo",
			"--from", "alice@pec.alfa.test", "--to", "bob@pec.beta.test", "--header", "Subject: "+subj,
			"--body", "Per una casella con una quota.\n"); err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
	}
	aliceBox := func() []fetched { return imapFetchAll(t, ca, alfa.addr("imap"), "alice@pec.alfa.test", "alice-demo") }
	outcome := func(subj string) fetched {
		t.Helper()
		msgs := waitFor(t, "delivery receipt or non-delivery notice for "+subj, 30*time.Second, aliceBox, func(m []fetched) bool {
			return len(about(m, subj, "X-Ricevuta", "avvenuta-consegna"))+len(about(m, subj, "X-Ricevuta", "errore-consegna")) > 0
		})
		if nd := about(msgs, subj, "X-Ricevuta", "errore-consegna"); len(nd) > 0 {
			return nd[0]
		}
		return about(msgs, subj, "X-Ricevuta", "avvenuta-consegna")[0]
	}

	setQuota("4KB")
	const full = "oltre la quota"
	send(full)
	m := outcome(full)
	if got := m.Get("X-Ricevuta"); got != "errore-consegna" {
		t.Fatalf("with quota=4KB: %s, want errore-consegna", got)
	}
	data := certData(t, d, m)
	if want := "5.2.2 - Gestore Beta S.p.A. - casella piena"; data.Error != pec.ErrorOther || data.ExtendedError != want || data.Delivery != "bob@pec.beta.test" {
		t.Errorf("non-delivery: errore %q, errore-esteso %q, consegna %q; want altro, %q, bob", data.Error, data.ExtendedError, data.Delivery, want)
	}

	setQuota("1MB")
	const room = "entro la quota"
	send(room)
	if got := outcome(room).Get("X-Ricevuta"); got != "avvenuta-consegna" {
		t.Errorf("with quota=1MB: %s, want avvenuta-consegna", got)
	}
}
