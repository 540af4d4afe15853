package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pecsdk/pec/internal/dovecottest"
)

// TestLMTPStore runs the demo's provider alfa from a configuration whose
// [storage] mailbox hands every deposit to a real Dovecot over LMTP, by
// TCP and by Unix socket: alice sends to holder, and curl reads the
// transport envelope from holder's INBOX and alice's acceptance and
// delivery receipt from hers over Dovecot's IMAPS, and her copy from
// Sent, filed there through Dovecot's recipient delimiter.
func TestLMTPStore(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	swaks := needSwaks(t)
	needTool(t, "curl", "curl")
	dir := t.TempDir()
	startTestDemo(t, dir) // its PKI, index and alfa.conf
	users := map[string]string{"alice@pec.alfa.test": "alice-dovecot", "holder@pec.alfa.test": "holder-dovecot",
		"posta-certificata@pec.alfa.test": "servizio-dovecot"}
	dc := startLMTPDovecot(t, users)
	dcCA := filepath.Join(dc.Dir, "ca.pem")
	if err := os.WriteFile(dcCA, dc.TLS.CAPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	accounts := filepath.Join(t.TempDir(), "accounts")
	var lines strings.Builder
	for u, pw := range map[string]string{"alice@pec.alfa.test": "alice-pecd", "holder@pec.alfa.test": "holder-pecd"} {
		lines.WriteString(accountLine(u, pw, demoHashIterations) + "\n")
	}
	lines.WriteString("posta-certificata@pec.alfa.test !\n")
	if err := os.WriteFile(accounts, []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	// -check dials the LMTP service: a socket where nothing listens fails.
	nothing := filepath.Join(t.TempDir(), "none.conf")
	if b, err := os.ReadFile(filepath.Join(dir, "alfa.conf")); err != nil {
		t.Fatal(err)
	} else {
		noIMAP := regexp.MustCompile(`(?m)^(imap|pop3|web) = .*$`).ReplaceAllString(string(b), "")
		os.WriteFile(nothing, []byte(noIMAP+"\n[storage]\nmailbox = lmtp:"+filepath.Join(dc.Dir, "none")+"\n"), 0o644)
	}
	var out, errOut strings.Builder
	if st := run(context.Background(), []string{"-config", nothing, "-check"}, nil, &out, &errOut); st != 1 ||
		!strings.Contains(errOut.String(), "LMTP service does not answer") {
		t.Errorf("pecd -check with no LMTP service: status %d: %s", st, errOut.String())
	}

	for _, tt := range []struct{ name, mailbox string }{
		{"tcp", "lmtp:" + dc.LMTP},
		{"unix", "lmtp:" + dc.Socket},
	} {
		t.Run(tt.name, func(t *testing.T) {
			state := t.TempDir()
			cfg, err := LoadConfig(filepath.Join(dir, "alfa.conf"))
			if err != nil {
				t.Fatal(err)
			}
			cfg.Listen = ListenConfig{Hostname: "pec.alfa.test", Submission: "127.0.0.1:0", Incoming: "127.0.0.1:0"}
			cfg.Storage.Mailbox, cfg.Storage.Maildir = tt.mailbox, ""
			cfg.Storage.Spool, cfg.Storage.Trace = filepath.Join(state, "spool"), filepath.Join(state, "trace")
			cfg.Index.State, cfg.Index.Publish = filepath.Join(state, "index.state"), ""
			cfg.Accounts.File = accounts
			var b strings.Builder
			if err := WriteConfig(&b, cfg); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(state, "lmtp.conf")
			if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			if cfg, err = LoadConfig(path); err != nil {
				t.Fatal(err)
			}
			var out, errOut strings.Builder
			if st := run(context.Background(), []string{"-config", path, "-check"}, nil, &out, &errOut); st != 0 {
				t.Fatalf("pecd -check: status %d: %s", st, errOut.String())
			}
			no := testNodeOptions
			no.LoopbackOnly = true
			n, err := startNode(context.Background(), cfg, testLogger(t), &no)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				n.Shutdown(ctx)
			}()

			subj := "consegna via LMTP " + tt.name
			if out, err := runSwaks(t, swaks, "--server", n.addr("submission"), "--tls-on-connect", "--tls-verify",
				"--tls-ca-path", filepath.Join(dir, demoCA), "--auth", "PLAIN", "--auth-user", "alice@pec.alfa.test",
				"--auth-password", "alice-pecd", "--from", "alice@pec.alfa.test", "--to", "holder@pec.alfa.test",
				"--header", "Subject: "+subj, "--body", "Depositato da Dovecot.\n"); err != nil {
				t.Fatalf("swaks: %v\n%s", err, out)
			}
			box := func(user, folder string) func() []fetched {
				return func() []fetched {
					return imapFolder(t, dcCA, dc.IMAPS, user, users[user], folder)
				}
			}
			has := func(k, v string) func([]fetched) bool {
				return func(m []fetched) bool { return len(about(m, subj, k, v)) == 1 }
			}
			env := waitFor(t, "envelope in holder's Dovecot INBOX", 30*time.Second, box("holder@pec.alfa.test", "INBOX"),
				has("X-Trasporto", "posta-certificata"))
			if e := about(env, subj, "X-Trasporto", "posta-certificata")[0]; !bytes.Contains(e.Raw, []byte("application/pkcs7-signature")) {
				t.Errorf("envelope read from Dovecot is not signed:\n%.400s", e.Raw)
			}
			waitFor(t, "receipts in alice's Dovecot INBOX", 30*time.Second, box("alice@pec.alfa.test", "INBOX"), func(m []fetched) bool {
				return has("X-Ricevuta", "accettazione")(m) && has("X-Ricevuta", "avvenuta-consegna")(m)
			})
			waitFor(t, "alice's copy in Sent", 30*time.Second, box("alice@pec.alfa.test", "Sent"), func(m []fetched) bool {
				for _, x := range m {
					if x.Get("Subject") == subj {
						return true
					}
				}
				return false
			})
		})
	}
	// What Dovecot refused is in its log, and pecd reads nothing there.
	if t.Failed() {
		b, _ := os.ReadFile(filepath.Join(dc.Dir, "dovecot.log"))
		t.Logf("dovecot log:\n%s", b)
	}
}

// imapFolder reads every message of folder over IMAPS with curl; none
// when the folder does not exist yet.
func imapFolder(t *testing.T, ca, addr, user, password, folder string) []fetched {
	t.Helper()
	if folder == "INBOX" {
		return imapFetchAll(t, ca, addr, user, password)
	}
	base := "imaps://" + addr + "/" + folder
	out, err := curl(t, ca, "--user", user+":"+password, base, "-X", "UID SEARCH ALL")
	if err != nil {
		return nil
	}
	var msgs []fetched
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "*" || f[1] != "SEARCH" {
			continue
		}
		for _, uid := range f[2:] {
			raw, err := curl(t, ca, "--user", user+":"+password, base+";UID="+uid)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, parseFetched(t, raw))
		}
	}
	return msgs
}

// lmtpDovecot is a private Dovecot serving IMAPS, and LMTP on a TCP port
// and a Unix socket.
type lmtpDovecot struct {
	IMAPS, LMTP, Socket string
	TLS                 *dovecottest.TLS
	Dir                 string
}

// startLMTPDovecot starts Dovecot for users (address → password) as an
// operator would put it behind pecd (see [storage] in
// pecd.conf.example): LMTP adding no header but Return-Path, a recipient
// delimiter that files user+Folder in Folder, created when missing. It is
// stopped at the end of the test.
func startLMTPDovecot(t *testing.T, users map[string]string) *lmtpDovecot {
	t.Helper()
	bin := needTool(t, dovecottest.Binary, "dovecot-imapd")
	lmtpd := filepath.Join(filepath.Dir(bin), "..", "lib", "dovecot", "lmtp")
	if _, err := os.Stat(lmtpd); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Dovecot's LMTP service is required under CI=true (dovecot-lmtpd): %v", err)
		}
		t.Skipf("Dovecot's LMTP service is not installed (dovecot-lmtpd): %v", err)
	}
	cert, err := dovecottest.NewTLS("pecd LMTP test CA")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "pecd-dovecot-") // short: a Unix socket path is limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	uid, gid, login := 0, 0, ""
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Skipf("no user nobody: %v", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		login = "nobody"
		if _, err := user.Lookup("dovenull"); err == nil {
			login = "dovenull"
		}
	} else {
		u, err := user.Current()
		if err != nil {
			t.Skip(err)
		}
		uid, gid, login = os.Geteuid(), os.Getegid(), u.Username
	}
	var ports []int
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
		l.Close() // Dovecot binds it: free again, taken by nobody else but by bad luck
	}
	dc := &lmtpDovecot{IMAPS: "127.0.0.1:" + strconv.Itoa(ports[0]), LMTP: "127.0.0.1:" + strconv.Itoa(ports[1]),
		Socket: filepath.Join(dir, "run", "pecd-lmtp"), TLS: cert, Dir: dir}
	write := func(name string, data []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	certFile := write("cert.pem", cert.CertPEM, 0o644)
	keyFile := write("key.pem", cert.KeyPEM, 0o600)
	var pw bytes.Buffer
	for u, p := range users {
		fmt.Fprintf(&pw, "%s:{PLAIN}%s:%d:%d::%s/mail/%s::\n", u, p, uid, gid, dir, u)
	}
	passwd := write("passwd", pw.Bytes(), 0o644)
	for _, sub := range []string{"run", "state", "mail"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(filepath.Join(dir, "mail"), uid, gid); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`# private test configuration
base_dir = %[1]s/run
state_dir = %[1]s/state
instance_name = pecd-lmtp-%[2]d
log_path = %[1]s/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = required
ssl_cert = <%[3]s
ssl_key = <%[4]s
disable_plaintext_auth = yes
auth_mechanisms = plain
auth_failure_delay = 0
default_internal_user = %[6]s
default_login_user = %[6]s
first_valid_uid = 1
mail_location = maildir:~/Maildir
recipient_delimiter = +
lmtp_save_to_detail_mailbox = yes
lda_mailbox_autocreate = yes
lmtp_add_received_header = no
lmtp_hdr_delivery_address = none
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[5]s
}
userdb {
  driver = passwd-file
  args = username_format=%%u %[5]s
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = %[2]d
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = %[7]d
  }
  unix_listener %[8]s {
    mode = 0666
  }
}
`, dir, ports[0], certFile, keyFile, passwd, login, ports[1], filepath.Base(dc.Socket))
	confFile := write("dovecot.conf", []byte(conf), 0o644)
	cmd := exec.Command(bin, "-F", "-c", confFile)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for _, a := range []struct{ network, addr string }{{"tcp", dc.IMAPS}, {"tcp", dc.LMTP}, {"unix", dc.Socket}} {
		for {
			c, err := net.DialTimeout(a.network, a.addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case err := <-exited:
				b, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
				t.Fatalf("dovecot exited: %v\n%s%s", err, out.String(), b)
			default:
			}
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
				t.Fatalf("dovecot not listening on %s: %v\n%s", a.addr, err, b)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return dc
}
