package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOrdinaryMailPerMailbox has carol of the demo's ordinary mail domain
// reply with swaks, as her mail server would relay it, to the transport
// envelope alice sent to two mailboxes of beta: bob, who takes ordinary
// mail, gets the reply in an anomaly envelope; ufficio, whose account
// line says ordinary=refuse, refuses it at SMTP with a 550 that names the
// mailbox, so that carol's server bounces it. Then [accounts] ordinary =
// refuse in beta's configuration, reloaded, refuses it for bob too, while
// an account that says ordinary=accept still takes it.
func TestOrdinaryMailPerMailbox(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	swaks := needSwaks(t)
	needTool(t, "curl", "curl")
	dir := t.TempDir()
	d := startTestDemo(t, dir)
	alfa, beta := d.Nodes[0], d.Nodes[1]
	ca := filepath.Join(dir, demoCA)
	ctx := context.Background()
	appendTo := func(path, text string) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, text...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	accounts := filepath.Join(dir, "beta.accounts")
	appendTo(accounts, accountLine("ufficio@pec.beta.test", "ufficio-demo", demoHashIterations)+" ordinary=refuse\n"+
		accountLine("protocollo@pec.beta.test", "protocollo-demo", demoHashIterations)+" ordinary=accept\n")
	if _, err := d.Reload(ctx); err != nil {
		t.Fatal(err)
	}

	const subj = "richiesta di preventivo"
	if out, err := runSwaks(t, swaks, "--server", alfa.addr("submission"), "--tls-on-connect", "--tls-verify", "--tls-ca-path", ca,
		"--auth", "PLAIN", "--auth-user", "alice@pec.alfa.test", "--auth-password", "alice-demo",
		"--from", "alice@pec.alfa.test", "--to", "bob@pec.beta.test,ufficio@pec.beta.test",
		"--header", "Subject: "+subj, "--body", "Attendo risposta.\n"); err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	box := func(user, pw string) func() []fetched {
		return func() []fetched { return imapFetchAll(t, ca, beta.addr("imap"), user, pw) }
	}
	has := func(s, k, v string) func([]fetched) bool {
		return func(m []fetched) bool { return len(about(m, s, k, v)) >= 1 }
	}
	env := about(waitFor(t, "envelope for bob", 30*time.Second, box("bob@pec.beta.test", "bob-demo"),
		has(subj, "X-Trasporto", "posta-certificata")), subj, "X-Trasporto", "posta-certificata")[0]
	envID := env.Get("Message-ID")

	// reply is carol's answer to the envelope, relayed to beta's MX.
	n := 0
	reply := func(to string) (string, string, error) {
		n++
		s := "Re: " + env.Get("Subject") + " " + string(rune('0'+n))
		out, err := runSwaks(t, swaks, "--server", beta.addr("incoming"), "--tls", "--tls-verify", "--tls-ca-path", ca,
			"--ehlo", demoMailDomain, "--from", "carol@mail.test", "--to", to,
			"--header", "Subject: "+s, "--header", "In-Reply-To: "+envID, "--header", "References: "+envID,
			"--body", "Ecco il preventivo, da una casella ordinaria.\n")
		return s, out, err
	}
	accepted := func(t *testing.T, user, pw string) {
		t.Helper()
		s, out, err := reply(user)
		if err != nil {
			t.Fatalf("swaks to %s: %v\n%s", user, err, out)
		}
		got := waitFor(t, "anomaly envelope for "+user, 30*time.Second, box(user, pw), has(s, "X-Trasporto", "errore"))
		an := about(got, s, "X-Trasporto", "errore")[0]
		if !strings.HasPrefix(an.Get("Subject"), "ANOMALIA MESSAGGIO: ") || !strings.Contains(string(an.Raw), "carol@mail.test") {
			t.Errorf("anomaly envelope for %s: subject %q", user, an.Get("Subject"))
		}
	}
	refused := func(t *testing.T, user string) {
		t.Helper()
		_, out, err := reply(user)
		if err == nil || !strings.Contains(out, "550 5.7.1 mailbox "+user+" accepts certified mail only") {
			t.Errorf("swaks to %s: %v, want 550 after DATA\n%s", user, err, out)
		}
	}

	t.Run("accepting mailbox", func(t *testing.T) { accepted(t, "bob@pec.beta.test", "bob-demo") })
	t.Run("refusing mailbox", func(t *testing.T) { refused(t, "ufficio@pec.beta.test") })
	t.Run("provider-wide refusal", func(t *testing.T) {
		appendTo(filepath.Join(dir, "beta.conf"), "\n[accounts]\nordinary = refuse\n")
		changed, err := d.Reload(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(changed, ";"), "ordinary mail: refuse") {
			t.Errorf("reload says %q", changed)
		}
		refused(t, "bob@pec.beta.test")
		accepted(t, "protocollo@pec.beta.test", "protocollo-demo")
	})
}
