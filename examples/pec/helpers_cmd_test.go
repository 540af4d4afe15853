package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"testing"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/receipt"
)

// The shared specification and corpus, relative to this package's folder
// (go test runs in it).
var (
	sharedDTD    = filepath.Join("..", "..", "..", "shared", "spec", "daticert.dtd")
	sharedCorpus = filepath.Join("..", "..", "..", "shared", "corpus")
)

// needTool returns the path of an executable, skipping the test when it is
// missing, or failing it under CI=true.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true: %v", name, err)
		}
		t.Skipf("%s not installed: skipping (%v)", name, err)
	}
	return p
}

// needShared returns the absolute path of a file or folder beside the
// module, skipping the test when it is absent, or failing it under CI=true.
func needShared(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(rel)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true: %v", p, err)
		}
		t.Skipf("%s not found: skipping (%v)", p, err)
	}
	return p
}

// runTool runs the command in-process and returns its status and output.
func runTool(args ...string) (status int, stdout, stderr string) {
	var out, errb bytes.Buffer
	status = run(args, &out, &errb)
	return status, out.String(), errb.String()
}

// sampleFile is one .eml written by "pec sample".
type sampleFile struct {
	path string
	kind pec.Kind
}

var sampleName = regexp.MustCompile(`^([0-9]{2})-([a-z0-9-]+)\.eml$`)

// writeSampleDir runs "pec sample -o DIR" in a fresh folder and returns the
// folder and its .eml files in catalogue order, each with the kind its name
// states.
func writeSampleDir(t *testing.T) (string, []sampleFile) {
	t.Helper()
	dir := t.TempDir()
	if st, _, stderr := runTool("sample", "-o", dir); st != 0 {
		t.Fatalf("pec sample -o %s: status %d\n%s", dir, st, stderr)
	}
	emls, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(emls)
	var files []sampleFile
	for _, f := range emls {
		m := sampleName.FindStringSubmatch(filepath.Base(f))
		if m == nil {
			t.Fatalf("%s: name is not NN-<kind>.eml", filepath.Base(f))
		}
		k, err := pec.ParseKind(m[2])
		if err != nil || k.String() != m[2] {
			t.Fatalf("%s: %q is not a kind name: %v", filepath.Base(f), m[2], err)
		}
		files = append(files, sampleFile{path: f, kind: k})
	}
	if len(files) != len(pec.Kinds) {
		t.Fatalf("pec sample wrote %d .eml files, want one per kind (%d): %q", len(files), len(pec.Kinds), emls)
	}
	return dir, files
}

// fromAddress returns the address of the From header of an e-mail file.
func fromAddress(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatalf("net/mail: %v", err)
	}
	from, err := msg.Header.AddressList("From")
	if err != nil || len(from) != 1 {
		t.Fatalf("From %q: %v (%d addresses)", msg.Header.Get("From"), err, len(from))
	}
	return from[0].Address
}

// parsePEC parses a file with the library, as an envelope or else as a
// receipt, and returns its kind and signature verdict.
func parsePEC(t *testing.T, path string, opts *smime.VerifyOptions) (pec.Kind, *daticert.Data, *smime.Verdict) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env, err := envelope.Parse(bytes.NewReader(b), opts)
	if err == nil {
		return env.Kind, env.Data, env.Signature
	}
	if !errors.Is(err, envelope.ErrNotEnvelope) {
		t.Fatalf("envelope.Parse: %v", err)
	}
	rc, err := receipt.Parse(bytes.NewReader(b), opts)
	if err != nil {
		t.Fatalf("receipt.Parse: %v", err)
	}
	return rc.Kind, rc.Data, rc.Signature
}

// opensslCerts returns the certificates carried by the signature of an
// S/MIME file: openssl smime -pk7out | openssl pkcs7 -print_certs.
func opensslCerts(t *testing.T, openssl, path string) []*x509.Certificate {
	t.Helper()
	p7, err := exec.Command(openssl, "smime", "-pk7out", "-in", path).Output()
	if err != nil {
		t.Fatalf("openssl smime -pk7out: %v%s", err, exitStderr(err))
	}
	cmd := exec.Command(openssl, "pkcs7", "-print_certs")
	cmd.Stdin = bytes.NewReader(p7)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl pkcs7 -print_certs: %v%s", err, exitStderr(err))
	}
	return pemCerts(t, out)
}

func pemCerts(t *testing.T, b []byte) []*x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return certs
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatalf("certificate: %v", err)
		}
		certs = append(certs, c)
	}
}

func exitStderr(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return "\n" + string(ee.Stderr)
	}
	return ""
}
