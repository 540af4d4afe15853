package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/internal/dovecottest"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/sample"
)

// TestSendFetchStatusCommands runs pec send, pec fetch (IMAP and POP3) and
// pec status against a real Dovecot behind a loopback PEC provider.
func TestSendFetchStatusCommands(t *testing.T) {
	set, err := sample.New(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := dovecottest.Start(t, &dovecottest.Options{
		Users: map[string]string{sample.Alice: "alice-pw", sample.Bob: "bob-pw"},
	})
	prov := dovecottest.StartProvider(t, dovecottest.ProviderOptions{
		Dovecot: srv, TLS: srv.TLS.ServerConfig(), Sender: set.Sender, Receive: set.Recipient,
		Name: sample.SenderProvider, RName: sample.RecipientProvider, Domain: sample.SenderDomain,
		Managed: []string{sample.SenderDomain, sample.RecipientDomain},
	})
	dir := t.TempDir()
	file := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pw := file("pw", []byte("alice-pw\n"))
	tlsCA := file("tls-ca.pem", srv.TLS.CAPEM())
	pecCA := file("pec-ca.pem", set.PKI.CAPEM())
	ldifBytes, err := set.IndexLDIF()
	if err != nil {
		t.Fatal(err)
	}
	ldif := file("index.ldif", ldifBytes)
	attach := file("offerta.pdf", []byte("%PDF-1.4\n%%EOF\n"))
	store := filepath.Join(dir, "store") + string(filepath.Separator)
	login := []string{"--user", sample.Alice, "--password-file", pw, "--tls-ca", tlsCA}
	cmd := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		st := run(args, &out, &errb)
		return st, out.String(), errb.String()
	}

	st, out, errs := cmd(append([]string{"send", "--server", prov.SMTPS, "--store", store,
		"--to", sample.Bob, "--cc", sample.Carol, "--subject", "Offerta", "--text", "In allegato.",
		"--attach", attach, "--receipt", "breve", "--message-id", "<offerta-1@client.example>"}, login...)...)
	if st != 0 || !strings.Contains(out, "sent offerta-1@client.example to 2 recipients") {
		t.Fatalf("send: %d\n%s%s", st, out, errs)
	}
	// Idempotent: the same Message-ID again is refused.
	st, _, errs = cmd(append([]string{"send", "--server", prov.SMTP, "--starttls", "--store", store,
		"--to", sample.Bob, "--subject", "Offerta", "--message-id", "offerta-1@client.example"}, login...)...)
	if st == 0 || !strings.Contains(errs, "already sent") || len(prov.Submissions()) != 1 {
		t.Errorf("second send: %d %s (%d submissions)", st, errs, len(prov.Submissions()))
	}

	mail := filepath.Join(dir, "mail")
	st, out, errs = cmd(append([]string{"fetch", "--server", srv.IMAPS, "-o", mail, "--ca", pecCA, "--ldif", ldif, "--store", store}, login...)...)
	if st != 0 {
		t.Fatalf("fetch: %d\n%s%s", st, out, errs)
	}
	for _, want := range []string{"acceptance", "delivery-short", "OK intact, trusted", sample.Bob + ": ", "→ delivered", "2 fetched (2 new)"} {
		if !strings.Contains(out, want) {
			t.Errorf("fetch output lacks %q:\n%s", want, out)
		}
	}
	if st, out, _ = cmd(append([]string{"fetch", "--server", srv.IMAPS, "-o", mail, "--ca", pecCA, "--ldif", ldif, "--store", store}, login...)...); st != 0 || !strings.Contains(out, "0 fetched (0 new)") {
		t.Errorf("second fetch: %d\n%s", st, out)
	}
	st, out, errs = cmd("status", "--store", store)
	if st != 0 || !regexp.MustCompile(`(?s)offerta-1@client.example.*`+regexp.QuoteMeta(sample.Bob)+`.*delivered`).MatchString(out) ||
		!strings.Contains(out, "sent-to-ordinary-mail") {
		t.Errorf("status: %d\n%s%s", st, out, errs)
	}

	// POP3, STLS, with the progress line; a tampered receipt fails the run.
	acc := bytes.Replace(set.Messages[pec.KindAcceptance], []byte("Contratto di fornitura"), []byte("Contratto di fornitur4"), -1) // the signed body too
	if err := srv.Deliver(sample.Alice, acc); err != nil {
		t.Fatal(err)
	}
	st, out, errs = cmd(append([]string{"fetch", "--pop3", "--server", srv.POP3, "--starttls", "-o", filepath.Join(dir, "mail3"),
		"--ca", pecCA, "--ldif", ldif, "--store", store, "--progress", "always"}, login...)...)
	if st != 1 || !strings.Contains(out, "FAIL not intact") || !strings.Contains(out, "3 fetched (3 new)") {
		t.Errorf("pop3 fetch with a tampered receipt: %d\n%s%s", st, out, errs)
	}
	if !strings.Contains(errs, "\rfetching 3/3") {
		t.Errorf("no progress line: %q", errs)
	}

	// A wrong password is a clear error.
	bad := file("bad", []byte("nope"))
	st, _, errs = cmd("fetch", "--server", srv.IMAPS, "-o", filepath.Join(dir, "mail4"), "--ca", pecCA, "--ldif", ldif, "--store", store,
		"--user", sample.Alice, "--password-file", bad, "--tls-ca", tlsCA)
	if st != 2 || !strings.Contains(errs, "authentication refused") {
		t.Errorf("wrong password: %d %s", st, errs)
	}
	// And a server certificate the roots do not know.
	st, _, errs = cmd("fetch", "--server", srv.IMAPS, "-o", filepath.Join(dir, "mail5"), "--ca", pecCA, "--ldif", ldif, "--store", store,
		"--user", sample.Alice, "--password-file", pw, "--tls-ca", pecCA)
	if st != 2 || !strings.Contains(errs, "certificate") {
		t.Errorf("untrusted server: %d %s", st, errs)
	}
}

func TestSendFetchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"send", "--to", "a@b.it"},                                                      // no server, no user
		{"send", "--preset", "nosuch", "--user", "a@pec.it"},                            // unknown preset
		{"send", "--server", "nohost", "--user", "a@pec.it"},                            // no port
		{"fetch", "--server", "127.0.0.1:1", "--user", "a@pec.it"},                      // no -o
		{"fetch", "--server", "127.0.0.1:1", "--user", "u", "-o", "x", "--auth", "md5"}, // unknown auth
	} {
		var out, errb bytes.Buffer
		if st := run(args, &out, &errb); st != 2 || errb.Len() == 0 {
			t.Errorf("%v: status %d, stderr %q", args, st, errb.String())
		}
	}
}
