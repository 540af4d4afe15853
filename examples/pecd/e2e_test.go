package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/receipt"
)

// TestDemoEndToEnd runs the demo network in the test process and drives
// it as users would, with real programs: swaks submits, curl reads over
// IMAP and POP3, openssl and the pec tool verify what arrives.
func TestDemoEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	swaks := needSwaks(t)
	needTool(t, "curl", "curl")
	openssl := needTool(t, "openssl", "openssl")
	pecBin := pecTool(t)

	dir := t.TempDir()
	d := startTestDemo(t, dir)
	alfa, beta := d.Nodes[0], d.Nodes[1]
	ca := filepath.Join(dir, demoCA)
	ldif := filepath.Join(dir, demoIndexPlain)
	work := t.TempDir()

	submit := func(t *testing.T, from, to, subject string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, swaks, "--server", alfa.addr("submission"), "--tls-on-connect",
			"--tls-verify", "--tls-ca-path", ca,
			"--auth", "PLAIN", "--auth-user", "alice@pec.alfa.test", "--auth-password", "alice-demo",
			"--from", from, "--to", to, "--header", "Subject: "+subject, "--body", "Testo di prova.\n")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// verify checks a message with openssl (signature and chain to the
	// demo CA) and with the pec tool (trusted by the demo index).
	n := 0
	verify := func(t *testing.T, m fetched) {
		t.Helper()
		n++
		f := filepath.Join(work, "msg"+string(rune('a'+n))+".eml")
		if err := os.WriteFile(f, m.Raw, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(openssl, "smime", "-verify", "-CAfile", ca, "-in", f, "-out", os.DevNull).CombinedOutput(); err != nil {
			t.Errorf("openssl smime -verify %q: %v\n%s", m.Get("Subject"), err, out)
		}
		out, err := exec.Command(pecBin, "verify", "--ldif", ldif, f).CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte(": OK")) {
			t.Errorf("pec verify --ldif %q: %v\n%s", m.Get("Subject"), err, out)
		}
	}
	aliceBox := func() []fetched { return imapFetchAll(t, ca, alfa.addr("imap"), "alice@pec.alfa.test", "alice-demo") }
	bobBox := func() []fetched { return pop3FetchAll(t, ca, beta.addr("pop3"), "bob@pec.beta.test", "bob-demo") }
	carolBox := func() []fetched { return imapFetchAll(t, ca, d.Mail.IMAPAddr, "carol@mail.test", "carol-demo") }
	has := func(subject, k, v string, count int) func([]fetched) bool {
		return func(m []fetched) bool { return len(about(m, subject, k, v)) >= count }
	}

	t.Run("alice to bob", func(t *testing.T) {
		const subj = "prova certificata"
		if out, err := submit(t, "alice@pec.alfa.test", "bob@pec.beta.test", subj); err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		inbox := waitFor(t, "acceptance and delivery receipt for alice", 30*time.Second, aliceBox, func(m []fetched) bool {
			return has(subj, "X-Ricevuta", "accettazione", 1)(m) && has(subj, "X-Ricevuta", "avvenuta-consegna", 1)(m)
		})
		env := waitFor(t, "envelope for bob", 30*time.Second, bobBox, has(subj, "X-Trasporto", "posta-certificata", 1))
		acc, del := about(inbox, subj, "X-Ricevuta", "accettazione"), about(inbox, subj, "X-Ricevuta", "avvenuta-consegna")
		env = about(env, subj, "X-Trasporto", "posta-certificata")
		if len(acc) != 1 || len(del) != 1 || len(env) != 1 {
			t.Fatalf("%d acceptances, %d delivery receipts, %d envelopes", len(acc), len(del), len(env))
		}
		for _, m := range []fetched{acc[0], del[0], env[0]} {
			verify(t, m)
		}
		if got, want := del[0].Get("X-Riferimento-Message-ID"), env[0].Get("X-Riferimento-Message-ID"); got == "" || got != want {
			t.Errorf("delivery receipt refers to %q, envelope to %q", got, want)
		}
		if got, want := certData(t, d, del[0]).ID, strings.Trim(env[0].Get("Message-ID"), "<>"); got != want {
			t.Errorf("delivery receipt of identificativo %s, envelope is %s", got, want)
		}
		// The presa in carico of beta goes to alfa's service mailbox
		// (PEC.md §11.7 steps 4 and 5).
		svc := waitFor(t, "presa in carico in alfa's service mailbox", 30*time.Second, func() []fetched {
			return imapFetchAll(t, ca, alfa.addr("imap"), "posta-certificata@pec.alfa.test", "servizio-demo")
		}, has(subj, "X-Ricevuta", "presa-in-carico", 1))
		pic := about(svc, subj, "X-Ricevuta", "presa-in-carico")
		if len(pic) != 1 {
			t.Fatalf("%d presa in carico", len(pic))
		}
		verify(t, pic[0])
		if data := certData(t, d, pic[0]); len(data.Receipts) != 1 || data.Receipts[0] != "bob@pec.beta.test" || data.Provider != "Gestore Beta S.p.A." {
			t.Errorf("presa in carico: ricezione %q by %q", data.Receipts, data.Provider)
		}
	})

	t.Run("alice to carol, not PEC", func(t *testing.T) {
		const subj = "prova ordinaria"
		if out, err := submit(t, "alice@pec.alfa.test", "carol@mail.test", subj); err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		env := waitFor(t, "envelope for carol", 30*time.Second, carolBox, has(subj, "X-Trasporto", "posta-certificata", 1))
		inbox := waitFor(t, "acceptance for alice", 30*time.Second, aliceBox, has(subj, "X-Ricevuta", "accettazione", 1))
		acc := about(inbox, subj, "X-Ricevuta", "accettazione")
		if got := certData(t, d, acc[0]).RecipientsOfType(pec.RecipientExternal); len(got) != 1 || got[0] != "carol@mail.test" {
			t.Errorf("acceptance names %q as esterno, want carol@mail.test", got)
		}
		verify(t, acc[0])
		verify(t, about(env, subj, "X-Trasporto", "posta-certificata")[0])
	})

	t.Run("alice to an unknown user of beta", func(t *testing.T) {
		const subj = "prova destinatario inesistente"
		if out, err := submit(t, "alice@pec.alfa.test", "nessuno@pec.beta.test", subj); err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		inbox := waitFor(t, "acceptance and non-delivery for alice", 30*time.Second, aliceBox, func(m []fetched) bool {
			return has(subj, "X-Ricevuta", "accettazione", 1)(m) && has(subj, "X-Ricevuta", "errore-consegna", 1)(m)
		})
		nd := about(inbox, subj, "X-Ricevuta", "errore-consegna")
		if len(nd) != 1 {
			t.Fatalf("%d non-deliveries", len(nd))
		}
		if data := certData(t, d, nd[0]); data.Error != pec.ErrorNoDest || data.Delivery != "nessuno@pec.beta.test" {
			t.Errorf("non-delivery: errore %q, consegna %q; want no-dest for nessuno@pec.beta.test", data.Error, data.Delivery)
		}
		verify(t, nd[0])
	})

	t.Run("alice sending as bob", func(t *testing.T) {
		const subj = "prova impersonata"
		out, err := submit(t, "bob@pec.beta.test", "bob@pec.beta.test", subj)
		if err == nil || !strings.Contains(out, "553") {
			t.Fatalf("swaks: err %v, want a 553 refusal:\n%s", err, out)
		}
	})

	t.Run("nothing more", func(t *testing.T) {
		// By now the receipts of the messages before have all arrived:
		// what is not here will not come.
		time.Sleep(2 * time.Second)
		inbox := aliceBox()
		if got := about(inbox, "prova ordinaria", "X-Ricevuta", "avvenuta-consegna"); len(got) != 0 {
			t.Errorf("a delivery receipt for a recipient outside PEC: %q", got[0].Get("Subject"))
		}
		if got := len(inbox); got != 5 {
			t.Errorf("alice has %d messages, want 5 (3 acceptances, a delivery receipt, a non-delivery)", got)
		}
		box := bobBox()
		if len(box) != 1 || len(about(box, "prova impersonata", "", "")) != 0 {
			t.Errorf("bob has %d messages, want the one envelope", len(box))
		}
		if got := len(carolBox()); got != 1 {
			t.Errorf("carol has %d messages, want 1", got)
		}
	})

	// The scenarios below come after the count above.
	t.Run("EICAR from alice", func(t *testing.T) {
		const subj = "prova virus"
		data := filepath.Join(work, "eicar.eml")
		msg := "From: alice@pec.alfa.test\r\nTo: bob@pec.beta.test\r\nSubject: " + subj + "\r\n" +
			"Date: " + time.Now().Format(time.RFC1123Z) + "\r\nMessage-ID: <eicar-e2e@pec.alfa.test>\r\n\r\n" + eicarString + "\r\n"
		if err := os.WriteFile(data, []byte(msg), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := runSwaks(t, swaks, "--server", alfa.addr("submission"), "--tls-on-connect", "--tls-verify", "--tls-ca-path", ca,
			"--auth", "PLAIN", "--auth-user", "alice@pec.alfa.test", "--auth-password", "alice-demo",
			"--from", "alice@pec.alfa.test", "--to", "bob@pec.beta.test", "--data", "@"+data); err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		inbox := waitFor(t, "virus notice for alice", 30*time.Second, aliceBox, has(subj, "X-Ricevuta", "non-accettazione", 1))
		nv := about(inbox, subj, "X-Ricevuta", "non-accettazione")
		if k := kindOf(t, d, nv[0]); k != pec.KindNonAcceptanceVirus {
			t.Errorf("alice got a %v, want %v", k, pec.KindNonAcceptanceVirus)
		}
		if data := certData(t, d, nv[0]); data.Error != pec.ErrorVirus {
			t.Errorf("errore %q, want %q", data.Error, pec.ErrorVirus)
		}
		verify(t, nv[0])
		if got := about(inbox, subj, "X-Ricevuta", "accettazione"); len(got) != 0 {
			t.Error("an acceptance for a message with a virus")
		}
		time.Sleep(2 * time.Second) // what would reach bob has by now
		if got := about(bobBox(), subj, "", ""); len(got) != 0 {
			t.Errorf("bob got %d messages about the virus", len(got))
		}
	})

	t.Run("tampered envelope into beta", func(t *testing.T) {
		const subj = "prova alterata"
		if out, err := submit(t, "alice@pec.alfa.test", "bob@pec.beta.test", subj); err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		box := waitFor(t, "envelope for bob", 30*time.Second, bobBox, has(subj, "X-Trasporto", "posta-certificata", 1))
		env := about(box, subj, "X-Trasporto", "posta-certificata")[0]
		// Another text in the signed part, and another Message-ID, as a
		// second message would have.
		const text, altered = "Testo di prova.", "Testo alterato."
		if !bytes.Contains(env.Raw, []byte(text)) {
			t.Fatalf("the envelope has not the text %q:\n%s", text, env.Raw)
		}
		raw := bytes.Replace(env.Raw, []byte(text), []byte(altered), 1)
		id := env.Get("Message-ID")
		raw = bytes.Replace(raw, []byte(id), []byte(strings.Replace(id, "<", "<alterato-", 1)), 1)
		data := filepath.Join(work, "tampered.eml")
		if err := os.WriteFile(data, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := runSwaks(t, swaks, "--server", beta.addr("incoming"), "--tls", "--tls-verify", "--tls-ca-path", ca,
			"--helo", "pec.alfa.test", "--from", "posta-certificata@pec.alfa.test", "--to", "bob@pec.beta.test", "--data", "@"+data); err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		box = waitFor(t, "anomaly envelope for bob", 30*time.Second, bobBox, has(subj, "X-Trasporto", "errore", 1))
		an := about(box, subj, "X-Trasporto", "errore")
		if len(an) != 1 || !strings.HasPrefix(an[0].Get("Subject"), pec.SubjectAnomaly) {
			t.Fatalf("%d anomaly envelopes, subject %q", len(an), an[0].Get("Subject"))
		}
		if !bytes.Contains(an[0].Raw, []byte(altered)) {
			t.Error("the anomaly envelope does not carry the tampered message")
		}
		verify(t, an[0])
		if got := about(box, subj, "X-Trasporto", "posta-certificata"); len(got) != 1 {
			t.Errorf("bob has %d envelopes, want the genuine one only", len(got))
		}
	})

	t.Run("recipient provider never answers", func(t *testing.T) {
		const subj = "prova senza risposta"
		const warning, final = 3 * time.Second, 6 * time.Second
		lone := startAlone(t, d, filepath.Join(dir, "alfa.conf"), t.TempDir(), warning, final)
		start := time.Now()
		if out, err := runSwaks(t, swaks, "--server", lone.addr("submission"), "--tls-on-connect", "--tls-verify", "--tls-ca-path", ca,
			"--auth", "PLAIN", "--auth-user", "alice@pec.alfa.test", "--auth-password", "alice-demo",
			"--from", "alice@pec.alfa.test", "--to", "bob@pec.beta.test", "--header", "Subject: "+subj, "--body", "Testo di prova.\n"); err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		box := func() []fetched { return imapFetchAll(t, ca, lone.addr("imap"), "alice@pec.alfa.test", "alice-demo") }
		inbox := waitFor(t, "both time-limit notices for alice", 60*time.Second, box, has(subj, "X-Ricevuta", "preavviso-errore-consegna", 2))
		if time.Since(start) < final {
			t.Errorf("the final notice came %v after the submission, before the %v configured", time.Since(start), final)
		}
		var kinds []pec.Kind
		for _, m := range about(inbox, subj, "X-Ricevuta", "preavviso-errore-consegna") {
			kinds = append(kinds, kindOf(t, d, m))
			if data := certData(t, d, m); data.Delivery != "bob@pec.beta.test" && !slices.Contains(data.RecipientsOfType(pec.RecipientCertified), "bob@pec.beta.test") {
				t.Errorf("notice for %q, want bob@pec.beta.test", data.Delivery)
			}
			verify(t, m)
		}
		slices.Sort(kinds)
		if want := []pec.Kind{pec.KindDeliveryTimeout12h, pec.KindDeliveryTimeout24h}; !slices.Equal(kinds, want) {
			t.Errorf("notices %v, want %v", kinds, want)
		}
		if got := about(inbox, subj, "X-Ricevuta", "accettazione"); len(got) != 1 {
			t.Errorf("%d acceptances", len(got))
		}
		time.Sleep(2 * time.Second)
		if got := len(about(box(), subj, "X-Ricevuta", "preavviso-errore-consegna")); got != 2 {
			t.Errorf("%d time-limit notices in the end, want 2", got)
		}
	})

	// Last: it slows alice's logins down.
	t.Run("wrong passwords in a loop", func(t *testing.T) {
		// Three wrong passwords for alice, over IMAP and POP3, which
		// share their throttle: 0, 0.5 and 1 s of wait before each answer,
		// then 2 s before any answer for her (the default Base of 250 ms,
		// doubled per failure), the right password's too.
		imapURL, pop3URL := "imaps://"+alfa.addr("imap")+"/INBOX", "pop3s://"+alfa.addr("pop3")+"/"
		for i, u := range []string{imapURL, pop3URL, imapURL} {
			if _, err := curl(t, ca, "--user", "alice@pec.alfa.test:guess"+string(rune('a'+i)), u, "-X", "NOOP"); err == nil {
				t.Fatalf("wrong password %d accepted at %s", i, u)
			}
		}
		begin := time.Now()
		if _, err := curl(t, ca, "--user", "alice@pec.alfa.test:alice-demo", pop3URL); err != nil {
			t.Fatalf("alice's right password: %v", err)
		}
		if took := time.Since(begin); took < 2*time.Second {
			t.Errorf("alice's right password answered in %v, before the 2 s her failures call for", took)
		}
		// Bob, from the same address, is still served.
		if got := bobBox(); len(got) == 0 {
			t.Error("bob's mailbox is empty")
		}
	})
}

// eicarString is the EICAR anti-virus test string (www.eicar.org).
const eicarString = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// kindOf parses a receipt, verified with the demo CA and index, and
// returns its kind.
func kindOf(t *testing.T, d *demoNetwork, m fetched) pec.Kind {
	t.Helper()
	rc, err := receipt.Parse(bytes.NewReader(m.Raw), &smime.VerifyOptions{Roots: d.PKI.Anchors(), Authority: d.PKI.Index})
	if err != nil {
		t.Fatalf("%q: %v", m.Get("Subject"), err)
	}
	return rc.Kind
}

// certData parses a receipt, verified with the demo CA and index, and
// returns its certification data.
func certData(t *testing.T, d *demoNetwork, m fetched) *daticert.Data {
	t.Helper()
	rc, err := receipt.Parse(bytes.NewReader(m.Raw), &smime.VerifyOptions{Roots: d.PKI.Anchors(), Authority: d.PKI.Index})
	if err != nil {
		t.Fatalf("%q: %v", m.Get("Subject"), err)
	}
	if !rc.OK() || rc.Data == nil {
		t.Fatalf("%q: not a valid receipt: %v", m.Get("Subject"), rc.Err())
	}
	return rc.Data
}
