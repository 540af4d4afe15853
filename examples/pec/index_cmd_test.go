package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pecsdk/pec/internal/testenv"
	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/pectest"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/sample"
)

// TestIndexLookup: "pec index lookup" over the index.ldif of "pec
// sample": exit 0 for the sample's PEC domains, 1 for others, 2 for bad
// usage or a bad file.
func TestIndexLookup(t *testing.T) {
	dir, _ := writeSampleDir(t)
	ldif := filepath.Join(dir, "index.ldif")
	for _, tc := range []struct {
		name   string
		args   []string
		status int
		out    string
	}{
		{"sender", []string{"--ldif", ldif, sample.SenderDomain}, 0, "PEC domain of " + sample.SenderProvider + ", service address posta-certificata@" + sample.SenderDomain},
		{"recipient-upper-case", []string{"--ldif", ldif, strings.ToUpper(sample.RecipientDomain)}, 0, "PEC domain of " + sample.RecipientProvider},
		{"ordinary", []string{"--ldif", ldif, "ordinaria.example"}, 1, "ordinaria.example: not a PEC domain"},
		{"json", []string{"--ldif", ldif, "--json", sample.SenderDomain}, 0, `"pec":true`},
		{"json-ordinary", []string{"--json", "--ldif", ldif, "gmail.com"}, 1, `{"domain":"gmail.com","pec":false}`},
		{"no-source", []string{sample.SenderDomain}, 2, ""},
		{"two-sources", []string{"--ldif", ldif, "--ldap", "ldap://127.0.0.1:1", sample.SenderDomain}, 2, ""},
		{"no-domain", []string{"--ldif", ldif}, 2, ""},
		{"missing-file", []string{"--ldif", filepath.Join(dir, "none.ldif"), "x.example"}, 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, out, errOut := runTool(append([]string{"index", "lookup"}, tc.args...)...)
			if st != tc.status || !strings.Contains(out, tc.out) {
				t.Fatalf("status %d, want %d\nstdout %q, want %q\nstderr %s", st, tc.status, out, tc.out, errOut)
			}
			if st == 2 && errOut == "" {
				t.Errorf("status 2 without a message")
			}
		})
	}
	t.Run("json-provider", func(t *testing.T) {
		_, out, _ := runTool("index", "lookup", "--json", "--ldif", ldif, sample.RecipientDomain)
		var r struct {
			PEC      bool
			Provider jsonProvider
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		p := r.Provider
		if !r.PEC || p.Name != sample.RecipientProvider || p.MailReceipt != "posta-certificata@"+sample.RecipientDomain ||
			len(p.Certificates) != 1 || p.Certificates[0].Email != p.MailReceipt || len(p.Certificates[0].SHA1) != 40 {
			t.Fatalf("lookup: %+v", r)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.ldif")
		os.WriteFile(bad, []byte("dn: o=postacert\nobjectClass top\n"), 0o644)
		st, _, errOut := runTool("index", "lookup", "--ldif", bad, "x.example")
		if st != 2 || !strings.Contains(errOut, "line 2") {
			t.Fatalf("status %d stderr %q", st, errOut)
		}
	})
}

// TestIndexDump: the dump of an LDIF reproduces it; with no source, the
// dump is a sample index that parses back.
func TestIndexDump(t *testing.T) {
	dir, _ := writeSampleDir(t)
	ldif := filepath.Join(dir, "index.ldif")
	want, err := os.ReadFile(ldif)
	if err != nil {
		t.Fatal(err)
	}
	st, out, errOut := runTool("index", "dump", "--ldif", ldif)
	if st != 0 || out != string(want) {
		t.Fatalf("status %d %s\ndump differs from the file:\n%s", st, errOut, out)
	}
	st, out, errOut = runTool("index", "dump")
	if st != 0 || !strings.Contains(errOut, "sample") {
		t.Fatalf("status %d stderr %q", st, errOut)
	}
	s, err := index.ParseLDIF(strings.NewReader(out))
	if err != nil || s.Len() != 2 {
		t.Fatalf("default dump: %v", err)
	}
	st, out, _ = runTool("index", "dump", "--json", "--ldif", ldif)
	var list []jsonProvider
	if err := json.Unmarshal([]byte(out), &list); st != 0 || err != nil || len(list) != 2 {
		t.Fatalf("dump --json: %d %v %q", st, err, out)
	}
	if st, _, _ := runTool("index", "frob"); st != 2 {
		t.Errorf("unknown subcommand: status %d", st)
	}
}

// TestVerifyWithIndex: with the sample's index, every sample is trusted;
// with the index of another sample set, none is, with the reason, in
// verify and in inspect --json.
func TestVerifyWithIndex(t *testing.T) {
	// Samples of two days ago: their timeout notices, signed up to 23
	// hours after the set's start, are not signatures from the future.
	saved := timeNow
	t.Cleanup(func() { timeNow = saved })
	timeNow = func() time.Time { return time.Now().Add(-48 * time.Hour) }
	dir, files := writeSampleDir(t)
	other, _ := writeSampleDir(t)
	timeNow = saved
	var emls []string
	for _, f := range files {
		emls = append(emls, f.path)
	}
	st, out, errOut := runTool(append([]string{"verify", "--ldif", filepath.Join(dir, "index.ldif")}, emls...)...)
	if st != 0 || strings.Count(out, ": OK ") != 14 || strings.Count(out, "trusted") != 14 {
		t.Fatalf("own index: status %d\n%s%s", st, out, errOut)
	}
	st, out, _ = runTool(append([]string{"verify", "--ldif", filepath.Join(other, "index.ldif")}, emls...)...)
	if st != 1 || strings.Count(out, ": FAIL ") != 14 || strings.Count(out, "unlisted-signer") != 14 {
		t.Fatalf("other index: status %d\n%s", st, out)
	}
	// Both: chained to the CA and listed.
	st, out, _ = runTool(append([]string{"verify", "--ca", filepath.Join(dir, "ca.pem"), "--ldif", filepath.Join(dir, "index.ldif")}, emls...)...)
	if st != 0 || strings.Count(out, ": OK ") != 14 {
		t.Fatalf("--ca and --ldif: status %d\n%s", st, out)
	}
	for _, tc := range []struct {
		index   string
		trusted bool
	}{{dir, true}, {other, false}} {
		st, out, errOut := runTool("inspect", "--json", "--ldif", filepath.Join(tc.index, "index.ldif"), emls[0])
		var r struct {
			Signature struct {
				Trusted  *bool    `json:"trusted"`
				Problems []string `json:"problems"`
			} `json:"signature"`
		}
		if err := json.Unmarshal([]byte(out), &r); st != 0 || err != nil {
			t.Fatalf("inspect: %d %v %s", st, err, errOut)
		}
		if r.Signature.Trusted == nil || *r.Signature.Trusted != tc.trusted {
			t.Fatalf("inspect --json trusted %v, want %v: %s", r.Signature.Trusted, tc.trusted, out)
		}
		if !tc.trusted && !strings.Contains(out, "unlisted-signer") {
			t.Errorf("no reason in %s", out)
		}
	}
}

// TestIndexSignedLDIF: a signed index.ldif.p7m is used when its signer
// chains to --index-ca and is the publisher pinned by certificate, subject
// or address; it is refused whole when tampered, when nothing pins the
// publisher, and when signed by a provider's key or an ordinary e-mail
// certificate under the same root.
func TestIndexSignedLDIF(t *testing.T) {
	dir, files := writeSampleDir(t)
	ldif, err := os.ReadFile(filepath.Join(dir, "index.ldif"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := pectest.NewPKI("Radice CA")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := root.NewIntermediate("Indice CA1")
	if err != nil {
		t.Fatal(err)
	}
	const pubEmail = "indice@indice.example"
	pub, _, err := ca.NewProvider("Indice PEC", pubEmail, nil)
	if err != nil {
		t.Fatal(err)
	}
	provider, _, err := ca.NewProvider(sample.SenderProvider, "posta-certificata@"+sample.SenderDomain, nil)
	if err != nil {
		t.Fatal(err)
	}
	ordinary, _, err := ca.NewEmailUser("Mario Rossi", "mario.rossi@posta.example", nil)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sign := func(name string, s *smime.Signer) string {
		t.Helper()
		p7m, err := s.SignAttached(ldif, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return write(name, p7m)
	}
	anchors := write("indice-ca.pem", root.CAPEM())
	pubPEM := write("indice.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pub.Certificate().Raw}))
	signed := sign("index.ldif.p7m", pub)
	byProvider := sign("provider.ldif.p7m", provider)
	byOrdinary := sign("ordinary.ldif.p7m", ordinary)
	p7m, _ := os.ReadFile(signed)
	tampered := write("tampered.ldif.p7m", bytes.Replace(p7m, []byte(sample.SenderDomain), []byte("pec.mittente.exampl3"), 1))
	subject := "CN=Posta Certificata Indice PEC,O=Indice PEC,C=IT"

	for _, tc := range []struct {
		name   string
		args   []string
		status int
		stderr string
	}{
		{"pinned-certificate", []string{"--ldif", signed, "--index-ca", anchors, "--index-publisher-cert", pubPEM}, 0, ""},
		{"pinned-certificate-as-anchor", []string{"--ldif", signed, "--index-publisher-cert", pubPEM}, 0, ""},
		{"pinned-subject", []string{"--ldif", signed, "--index-ca", anchors, "--index-publisher-subject", subject}, 0, ""},
		{"pinned-email", []string{"--ldif", signed, "--index-ca", anchors, "--index-publisher-email", pubEmail}, 0, ""},
		{"any-signer", []string{"--ldif", signed, "--index-ca", anchors, "--index-any-signer"}, 0, ""},
		// Refused, naming the signer for the user to confirm and pin.
		{"anchors-alone", []string{"--ldif", signed, "--index-ca", anchors}, 2, "signer " + pubEmail + ": no publisher pinned"},
		{"nothing", []string{"--ldif", signed}, 2, "refused"},
		{"provider-key-pinned-certificate", []string{"--ldif", byProvider, "--index-ca", anchors, "--index-publisher-cert", pubPEM}, 2,
			"not signed by the pinned publisher: signer posta-certificata@" + sample.SenderDomain},
		{"provider-key-pinned-email", []string{"--ldif", byProvider, "--index-ca", anchors, "--index-publisher-email", pubEmail}, 2, "not signed by the pinned publisher"},
		{"ordinary-pinned-subject", []string{"--ldif", byOrdinary, "--index-ca", anchors, "--index-publisher-subject", subject}, 2,
			"not signed by the pinned publisher: signer mario.rossi@posta.example"},
		{"ordinary-pinned-certificate-as-anchor", []string{"--ldif", byOrdinary, "--index-publisher-cert", pubPEM}, 2, "untrusted-chain"},
		// The opt-in takes a provider's key too: what it is unsafe for.
		{"provider-key-any-signer", []string{"--ldif", byProvider, "--index-ca", anchors, "--index-any-signer"}, 0, ""},
		// With the publisher pinned, a plain (signature-stripped) file is refused.
		{"plain", []string{"--ldif", filepath.Join(dir, "index.ldif"), "--index-publisher-email", pubEmail}, 2, "not signed"},
		{"plain-with-anchors", []string{"--ldif", filepath.Join(dir, "index.ldif"), "--index-ca", anchors}, 2, "not signed"},
		{"tampered", []string{"--ldif", tampered, "--index-ca", anchors, "--index-publisher-cert", pubPEM}, 2, "digest-mismatch"},
		{"publisher-for-ldap", []string{"--ldap", "ldap://127.0.0.1:1", "--index-publisher-email", pubEmail}, 2, "not to --ldap"},
		{"bad-certificate-file", []string{"--ldif", signed, "--index-publisher-cert", filepath.Join(dir, "index.ldif")}, 2, "no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, out, errOut := runTool(append(append([]string{"index", "lookup"}, tc.args...), sample.SenderDomain)...)
			if st != tc.status || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("status %d, want %d\nstdout %s\nstderr %q, want %q", st, tc.status, out, errOut, tc.stderr)
			}
		})
	}
	pin := []string{"--index-ca", anchors, "--index-publisher-cert", pubPEM}
	if st, out, errOut := runTool(append(append([]string{"verify", "--ldif", signed}, pin...), files[0].path)...); st != 0 || !strings.Contains(out, "trusted") {
		t.Fatalf("verify with the signed index: %d %s %s", st, out, errOut)
	}
	for _, bad := range []string{tampered, byProvider} {
		if st, _, errOut := runTool(append(append([]string{"verify", "--ldif", bad}, pin...), files[0].path)...); st != 2 || !strings.Contains(errOut, "refused") && !strings.Contains(errOut, "pinned publisher") {
			t.Fatalf("verify with %s: %d %s", filepath.Base(bad), st, errOut)
		}
	}
}

// TestIndexLDAP: "pec index lookup --ldap" and "pec verify --ldap"
// against a slapd started by the test with the sample's index; a server
// that never answers ends with the tool's deadline.
func TestIndexLDAP(t *testing.T) {
	dir, files := writeSampleDir(t)
	url := startSlapd(t, filepath.Join(dir, "index.ldif"))
	if st, out, errOut := runTool("index", "lookup", "--ldap", url, sample.RecipientDomain); st != 0 || !strings.Contains(out, sample.RecipientProvider) {
		t.Fatalf("lookup --ldap: %d %s %s", st, out, errOut)
	}
	if st, _, _ := runTool("index", "lookup", "--ldap", url, "gmail.com"); st != 1 {
		t.Fatalf("lookup --ldap gmail.com: %d", st)
	}
	if st, out, errOut := runTool("verify", "--ldap", url, files[0].path, files[3].path); st != 0 || strings.Count(out, "trusted") != 2 {
		t.Fatalf("verify --ldap: %d %s %s", st, out, errOut)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	saved := indexTimeout
	indexTimeout = 300 * time.Millisecond
	defer func() { indexTimeout = saved }()
	st, _, errOut := runTool("index", "lookup", "--ldap", "ldap://"+l.Addr().String(), sample.SenderDomain)
	if st != 2 || !strings.Contains(errOut, "deadline exceeded") {
		t.Fatalf("hanging directory: %d %s", st, errOut)
	}
}

// startSlapd starts an OpenLDAP server on 127.0.0.1 with a private
// configuration and the PEC schema, loads ldif with ldapadd, and stops it
// when the test ends. It returns the server's URL.
func startSlapd(t *testing.T, ldif string) string {
	t.Helper()
	bin := testenv.Tool(t, "slapd")
	ldapadd := testenv.Tool(t, "ldapadd")
	schema, err := filepath.Abs(filepath.Join("..", "..", "pec", "index", "testdata", "pec.schema"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "db"), 0o700)
	conf := filepath.Join(dir, "slapd.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("include /etc/ldap/schema/core.schema\ninclude %s\n"+
		"modulepath /usr/lib/ldap\nmoduleload back_mdb\npidfile %s/slapd.pid\n"+
		"database mdb\nmaxsize 16777216\nsuffix \"o=postacert\"\nrootdn \"cn=admin,o=postacert\"\nrootpw segreto\ndirectory %s/db\n",
		schema, dir, dir)), 0o600)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	url := "ldap://" + addr + "/"
	var log bytes.Buffer
	cmd := exec.Command(bin, "-f", conf, "-h", url, "-d", "none")
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	for deadline := time.Now().Add(15 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slapd not listening: %v\n%s", err, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, ldapadd, "-x", "-H", url, "-D", "cn=admin,o=postacert", "-w", "segreto", "-f", ldif).CombinedOutput(); err != nil {
		t.Fatalf("ldapadd: %v\n%s\n%s", err, out, log.String())
	}
	return url
}
