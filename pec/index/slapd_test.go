package index_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/pecsdk/pec/internal/testenv"
	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/smime"
)

const (
	slapdAdmin    = "cn=admin,o=postacert"
	slapdPassword = "segreto"
)

// slapd is an OpenLDAP server started by a test on 127.0.0.1 with a
// private configuration, the PEC schema and the world's entries.
type slapd struct {
	url, ldapsURL string
	cmd           *exec.Cmd
	done          chan struct{}
	log           *bytes.Buffer
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startSlapd starts slapd and loads ldif with ldapadd; the server is
// stopped when the test ends.
func startSlapd(t *testing.T, w *world, ldif []byte) *slapd {
	t.Helper()
	bin := testenv.Tool(t, "slapd")
	ldapadd := testenv.Tool(t, "ldapadd")
	dir := t.TempDir()
	schema, err := filepath.Abs(filepath.Join("testdata", "pec.schema"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := serverCertificate(t, w, dir)
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include %s
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile %s/slapd.pid
sizelimit unlimited
TLSCertificateFile %s
TLSCertificateKeyFile %s
database mdb
maxsize 16777216
suffix "o=postacert"
rootdn "%s"
rootpw %s
directory %s/db
`, schema, dir, certFile, keyFile, slapdAdmin, slapdPassword, dir)
	confFile := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	p1, p2 := freePort(t), freePort(t)
	s := &slapd{
		url:      fmt.Sprintf("ldap://127.0.0.1:%d/", p1),
		ldapsURL: fmt.Sprintf("ldaps://127.0.0.1:%d/", p2),
		done:     make(chan struct{}),
		log:      &bytes.Buffer{},
	}
	// -d keeps slapd in the foreground, as a child the test can stop.
	s.cmd = exec.Command(bin, "-f", confFile, "-h", s.url+" "+s.ldapsURL, "-d", "none")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.stop)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p1), time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-s.done:
			t.Fatalf("slapd exited: %s", s.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("slapd not listening: %v\n%s", err, s.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	file := filepath.Join(dir, "index.ldif")
	if err := os.WriteFile(file, ldif, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, ldapadd, "-x", "-H", s.url, "-D", slapdAdmin, "-w", slapdPassword, "-f", file).CombinedOutput()
	if err != nil {
		t.Fatalf("ldapadd: %v\n%s\n%s", err, out, s.log)
	}
	return s
}

// stop terminates slapd and waits for it.
func (s *slapd) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// serverCertificate issues a TLS certificate for 127.0.0.1 from the
// world's CA and writes it and its key as PEM.
func serverCertificate(t *testing.T, w *world, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, w.pki.CA, key.Public(), w.pki.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestSlapd reads the world's index from a real OpenLDAP server over
// ldap:// and ldaps://: the same entries and answers as the LDIF and the
// in-memory index.
func TestSlapd(t *testing.T) {
	w := testWorld(t)
	s := startSlapd(t, w, w.ldif(t))
	mem, err := index.New(w.providers)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		src  *index.LDAP
	}{
		{"ldap", &index.LDAP{URL: s.url}},
		{"ldap-bind-paged", &index.LDAP{URL: s.url, BindDN: slapdAdmin, Password: slapdPassword, PageSize: 2}},
		{"ldaps", &index.LDAP{URL: s.ldapsURL, TLSConfig: &tls.Config{RootCAs: w.pki.Pool()}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			snap, err := tc.src.Load(ctx)
			if err != nil {
				t.Fatalf("%v\n%s", err, s.log)
			}
			checkLookups(t, w, snap)
			if got, want := dump(snap), dump(mem); got != want {
				t.Errorf("entries from slapd:\n%s\nwant\n%s", got, want)
			}
		})
	}
	t.Run("ldaps-untrusted-server", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := (&index.LDAP{URL: s.ldapsURL, TLSConfig: &tls.Config{RootCAs: x509.NewCertPool()}}).Load(ctx)
		var uerr x509.UnknownAuthorityError
		if !errors.Is(err, index.ErrDirectory) || !errors.As(err, &uerr) {
			t.Fatalf("err %v, want ErrDirectory and an unknown authority", err)
		}
	})
	t.Run("bad-credentials", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := (&index.LDAP{URL: s.url, BindDN: slapdAdmin, Password: "sbagliata"}).Load(ctx)
		if !errors.Is(err, index.ErrDirectory) || !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			t.Fatalf("err %v, want invalid credentials", err)
		}
	})
}

// TestSlapdMirror: a Mirror of the directory trusts a certificate until it
// is deleted from the directory and the mirror refreshed (revocation by
// removal), and keeps answering from its last good snapshot when the
// directory goes down.
func TestSlapdMirror(t *testing.T) {
	w := testWorld(t)
	s := startSlapd(t, w, w.ldif(t))
	var statuses []index.Status
	m := index.NewMirror(&index.LDAP{URL: s.url}, &index.MirrorOptions{
		OnRefresh: func(st index.Status) { statuses = append(statuses, st) },
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.Authorize(w.alfaOld.Certificate(), "a@pec.alfa.example", time.Now()); !errors.Is(err, index.ErrNoSnapshot) {
		t.Fatalf("before the first refresh: %v", err)
	}
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	checkLookups(t, w, m)
	from := "posta-certificata@pec.alfa.example"
	if err := m.Authorize(w.alfaOld.Certificate(), from, time.Now()); err != nil {
		t.Fatalf("listed certificate refused: %v", err)
	}

	// The old certificate of Alfa is deleted from the directory.
	conn, err := ldap.DialURL(s.url, ldap.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Bind(slapdAdmin, slapdPassword); err != nil {
		t.Fatal(err)
	}
	alfaEntry := w.providers[0]
	snap := m.Snapshot()
	p, _ := snap.Provider(alfa)
	mod := ldap.NewModifyRequest(p.DN, nil)
	// providerCertificate has no equality rule (PEC.md §13.3): its values
	// are replaced, not deleted one by one.
	mod.Replace("providerCertificate;binary", []string{string(w.alfaNew.Certificate().Raw)})
	mod.Delete("providerCertificateHash", []string{p.Hashes[0]})
	if err := conn.Modify(mod); err != nil {
		t.Fatalf("modify %s: %v", alfaEntry.Name, err)
	}
	// Until the refresh, the snapshot answers as before.
	if err := m.Authorize(w.alfaOld.Certificate(), from, time.Now()); err != nil {
		t.Fatalf("refused before the refresh: %v", err)
	}
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	err = m.Authorize(w.alfaOld.Certificate(), from, time.Now())
	if !errors.Is(err, index.ErrUnlisted) {
		t.Fatalf("removed certificate: %v, want ErrUnlisted", err)
	}
	checkTrustError(t, err, smime.ProblemUnlisted)
	if err := m.Authorize(w.alfaNew.Certificate(), from, time.Now()); err != nil {
		t.Fatalf("renewed certificate refused: %v", err)
	}

	// The directory goes down: the refresh fails, the snapshot stays.
	s.stop()
	good := m.Snapshot()
	err = m.Refresh(ctx)
	if !errors.Is(err, index.ErrDirectory) {
		t.Fatalf("refresh with the directory down: %v", err)
	}
	st := m.Status()
	if st.Err == nil || st.Failures != 1 || st.Loaded.IsZero() || st.Entries != 4 || m.LastError() != err {
		t.Fatalf("status after the failure: %+v", st)
	}
	if m.Snapshot() != good {
		t.Fatal("a failed refresh replaced the snapshot")
	}
	if p, ok := m.Domain("pec.beta.example"); !ok || p.Name != beta {
		t.Fatalf("lookup after the failure: %+v %v", p, ok)
	}
	if err := m.Authorize(w.alfaNew.Certificate(), from, time.Now()); err != nil {
		t.Fatalf("trust after the failure: %v", err)
	}
	if len(statuses) != 3 || statuses[2].Err == nil || statuses[1].Err != nil {
		t.Fatalf("OnRefresh statuses %+v", statuses)
	}
}
