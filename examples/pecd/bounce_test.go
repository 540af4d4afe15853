package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOrdinaryReplyBounces is the ordinary sender's side of the two
// settings, as the README states them: carol, with the demo's ordinary
// mail server as her own, replies from a mail client (swaks, submitting
// with AUTH over STARTTLS) to bob, who takes ordinary mail, and to
// ufficio, whose mailbox refuses it. Bob gets the reply in an anomaly
// envelope and carol no bounce for him; ufficio's 550 comes back to carol
// as a bounce in her INBOX (a delivery status notification naming the
// mailbox and the reason). Without authentication her server relays
// nothing.
func TestOrdinaryReplyBounces(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	swaks := needSwaks(t)
	needTool(t, "curl", "curl")
	dir := t.TempDir()
	d := startTestDemo(t, dir)
	beta := d.Nodes[1]
	ca := filepath.Join(dir, demoCA)
	accounts := filepath.Join(dir, "beta.accounts")
	b, err := os.ReadFile(accounts)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, accountLine("ufficio@pec.beta.test", "ufficio-demo", demoHashIterations)+" ordinary=refuse\n"...)
	if err := os.WriteFile(accounts, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}

	send := func(to, subject string, auth bool) (string, error) {
		args := []string{"--server", d.Mail.SMTPAddr, "--tls", "--tls-verify", "--tls-ca-path", ca,
			"--from", "carol@mail.test", "--to", to, "--header", "Subject: " + subject,
			"--body", "Una risposta da una casella ordinaria.\n"}
		if auth {
			args = append(args, "--auth", "PLAIN", "--auth-user", "carol@mail.test", "--auth-password", "carol-demo")
		}
		return runSwaks(t, swaks, args...)
	}
	if out, err := send("bob@pec.beta.test", "senza credenziali", false); err == nil || !strings.Contains(out, "550 5.7.1") {
		t.Fatalf("relay without authentication: %v\n%s", err, out)
	}
	if out, err := send("bob@pec.beta.test", "Re: preventivo per bob", true); err != nil {
		t.Fatalf("swaks to bob: %v\n%s", err, out)
	}
	if out, err := send("ufficio@pec.beta.test", "Re: preventivo per ufficio", true); err != nil {
		t.Fatalf("swaks to ufficio: %v\n%s", err, out)
	}

	bob := waitFor(t, "anomaly envelope for bob", 30*time.Second,
		func() []fetched { return imapFetchAll(t, ca, beta.addr("imap"), "bob@pec.beta.test", "bob-demo") },
		func(m []fetched) bool { return len(about(m, "Re: preventivo per bob", "X-Trasporto", "errore")) == 1 })
	_ = bob
	isBounce := func(m fetched) bool { return strings.HasPrefix(m.Get("From"), "Mail Delivery System") }
	carol := waitFor(t, "bounce for carol", 30*time.Second,
		func() []fetched { return imapFetchAll(t, ca, d.Mail.IMAPAddr, "carol@mail.test", "carol-demo") },
		func(m []fetched) bool {
			for _, f := range m {
				if isBounce(f) {
					return true
				}
			}
			return false
		})
	var bounces []fetched
	for _, f := range carol {
		if isBounce(f) {
			bounces = append(bounces, f)
		}
	}
	if len(bounces) != 1 {
		t.Fatalf("%d bounces for carol, want one (for ufficio only)", len(bounces))
	}
	raw := bounces[0].Raw
	for _, want := range []string{
		"multipart/report", "report-type=delivery-status", "message/delivery-status",
		"Final-Recipient: rfc822; ufficio@pec.beta.test", "Action: failed", "Status: 5.7.1",
		"accepts certified mail only", "Subject: Re: preventivo per ufficio",
	} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("the bounce lacks %q:\n%s", want, raw)
		}
	}
	if bytes.Contains(raw, []byte("bob@pec.beta.test")) {
		t.Errorf("the bounce names bob, whose mailbox took the reply:\n%s", raw)
	}
}
