package lmtp

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pecsdk/pec/internal/dovecottest"
	"github.com/pecsdk/pec/internal/testenv"
)

// dovecot is a private Dovecot serving IMAPS and LMTP on 127.0.0.1.
type dovecot struct {
	IMAPS, LMTP string
	TLS         *dovecottest.TLS
	Dir         string
}

// startDovecot starts Dovecot with the users and passwords of users, an
// LMTP listener that adds no header of its own but Return-Path and files
// user+Folder in Folder, created when missing,, and
// stops it when the test ends. extra is appended to the configuration.
func startDovecot(t *testing.T, users map[string]string, extra string) *dovecot {
	t.Helper()
	bin := dovecottest.Binary
	if _, err := os.Stat(bin); err != nil {
		bin = testenv.Tool(t, "dovecot")
	}
	// Debian ships the LMTP service apart, in dovecot-lmtpd.
	lmtpd := filepath.Join(filepath.Dir(bin), "..", "lib", "dovecot", "lmtp")
	if _, err := os.Stat(lmtpd); err != nil {
		if testenv.CI() {
			t.Fatalf("Dovecot's LMTP service is required under CI=true: %v", err)
		}
		t.Skipf("Dovecot's LMTP service is not installed (dovecot-lmtpd): %v", err)
	}
	cert, err := dovecottest.NewTLS("LMTP Test CA")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	openPath(t, dir)
	uid, gid, login := mailUser(t)
	ports := freePorts(t, 2)
	d := &dovecot{IMAPS: "127.0.0.1:" + strconv.Itoa(ports[0]), LMTP: "127.0.0.1:" + strconv.Itoa(ports[1]), TLS: cert, Dir: dir}

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
instance_name = lmtptest-%[2]d
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
}
`, dir, ports[0], certFile, keyFile, passwd, login, ports[1]) + extra
	confFile := write("dovecot.conf", []byte(conf), 0o644)

	cmd := exec.Command(bin, "-F", "-c", confFile)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = cmd.Wait(); close(exited) }()
	logs := func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
		return out.String() + string(b)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("dovecot log:\n%s", logs())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for _, a := range []string{d.IMAPS, d.LMTP} {
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-exited:
				t.Fatalf("dovecot exited: %v\n%s", exitErr, logs())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("dovecot not listening on %s: %v\n%s", a, err, logs())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return d
}

// mailUser returns the owner of the mail and the user of Dovecot's
// unprivileged processes: nobody and dovenull when the tests run as root
// (Dovecot serves no mail as root), else the current user for both.
func mailUser(t *testing.T) (uid, gid int, login string) {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			t.Skipf("no current user: %v", err)
		}
		return os.Geteuid(), os.Getegid(), u.Username
	}
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
	return uid, gid, login
}

// openPath lets other users traverse the folders from the system temporary
// folder down to dir, as Dovecot's unprivileged processes must.
func openPath(t *testing.T, dir string) {
	top := filepath.Clean(os.TempDir())
	for d := filepath.Clean(dir); strings.HasPrefix(d, top+string(filepath.Separator)); d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, fi.Mode().Perm()|0o711); err != nil {
			t.Fatal(err)
		}
	}
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(t *testing.T, n int) []int {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}
