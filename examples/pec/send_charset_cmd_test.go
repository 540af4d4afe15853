package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"

	"github.com/pecsdk/pec/internal/dovecottest"
	"github.com/pecsdk/pec/sample"
)

// TestSendTextCharsets: pec send declares a UTF-8 text file as UTF-8, a
// Latin-1 one in the --charset given, and sends both byte for byte; a text
// file not in UTF-8 without --charset is refused before connecting.
func TestSendTextCharsets(t *testing.T) {
	dir := t.TempDir()
	file := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	utf := []byte("Città, perché\n")
	latin1 := []byte("Citt\xe0, perch\xe9\n")
	fu, fl := file("nota.txt", utf), file("lettera.txt", latin1)
	pw := file("pw", []byte("alice-pw\n"))

	st, _, errs := runTool("send", "--server", "127.0.0.1:1", "--store", filepath.Join(dir, "s0")+"/", "--user", sample.Alice,
		"--password-file", pw, "--to", sample.Bob, "--subject", "x", "--attach", fl)
	if st != 2 || !strings.Contains(errs, fl) || !strings.Contains(errs, "--charset") {
		t.Errorf("Latin-1 without --charset: %d %q", st, errs)
	}

	set, err := sample.New(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := dovecottest.Start(t, &dovecottest.Options{Users: map[string]string{sample.Alice: "alice-pw", sample.Bob: "bob-pw"}})
	prov := dovecottest.StartProvider(t, dovecottest.ProviderOptions{
		Dovecot: srv, TLS: srv.TLS.ServerConfig(), Sender: set.Sender, Receive: set.Recipient,
		Name: sample.SenderProvider, RName: sample.RecipientProvider, Domain: sample.SenderDomain,
		Managed: []string{sample.SenderDomain, sample.RecipientDomain},
	})
	tlsCA := file("tls-ca.pem", srv.TLS.CAPEM())
	st, out, errs := runTool("send", "--server", prov.SMTPS, "--tls-ca", tlsCA, "--store", filepath.Join(dir, "s1")+"/",
		"--user", sample.Alice, "--password-file", pw, "--to", sample.Bob, "--subject", "Lettera",
		"--attach", fu, "--attach", fl, "--charset", "iso-8859-1")
	if st != 0 {
		t.Fatalf("send: %d\n%s%s", st, out, errs)
	}
	subs := prov.Submissions()
	if len(subs) != 1 {
		t.Fatalf("%d submissions", len(subs))
	}
	br := bufio.NewReader(bytes.NewReader(subs[0].Data))
	h, err := textproto.ReadHeader(br)
	if err != nil {
		t.Fatal(err)
	}
	_, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	mr := textproto.NewMultipartReader(br, params["boundary"])
	want := map[string]struct {
		body    []byte
		charset string
	}{"nota.txt": {utf, "utf-8"}, "lettera.txt": {latin1, "iso-8859-1"}}
	seen := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		_, dp, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		w, ok := want[dp["filename"]]
		if !ok {
			continue
		}
		seen++
		raw, _ := io.ReadAll(p)
		b, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(raw)))
		if err != nil || sha256.Sum256(b) != sha256.Sum256(w.body) {
			t.Errorf("%s: sent %q (%v), want %q", dp["filename"], b, err, w.body)
		}
		if _, cp, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); cp["charset"] != w.charset {
			t.Errorf("%s: Content-Type %q, want charset %s", dp["filename"], p.Header.Get("Content-Type"), w.charset)
		}
	}
	if seen != 2 {
		t.Errorf("%d of the 2 attachments found", seen)
	}
}
