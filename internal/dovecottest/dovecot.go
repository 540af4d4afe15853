package dovecottest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pecsdk/pec/internal/testenv"
)

// Binary is where Debian installs the Dovecot master.
const Binary = "/usr/sbin/dovecot"

// Server is a running Dovecot.
type Server struct {
	IMAPS string // implicit TLS IMAP address (as on port 993)
	POP3S string // implicit TLS POP3 address (as on port 995)
	IMAP  string // IMAP address offering STARTTLS (as on port 143)
	POP3  string // POP3 address offering STLS (as on port 110)
	TLS   *TLS   // the server certificate and its CA
	Dir   string // the private folder: configuration, mail, logs

	users     map[string]string
	uid, gid  int
	cmd       *exec.Cmd
	delivered atomic.Int64
}

// Options configures Start.
type Options struct {
	// Users maps login names (full addresses) to passwords.
	Users map[string]string
	// Seed maps login names to messages written into their INBOX before
	// the server starts.
	Seed map[string][][]byte
}

// Start starts Dovecot and stops it at the end of the test. A missing
// Dovecot skips the test, or fails it under CI=true.
func Start(tb testing.TB, opts *Options) *Server {
	tb.Helper()
	bin := Binary
	if _, err := os.Stat(bin); err != nil {
		bin = testenv.Tool(tb, "dovecot")
	}
	if opts == nil || len(opts.Users) == 0 {
		tb.Fatal("dovecottest: no users")
	}
	cert, err := NewTLS("Dovecot Test CA")
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	openPath(tb, dir)
	s := &Server{TLS: cert, Dir: dir, users: opts.Users}
	s.uid, s.gid = mailUser(tb)

	ports := freePorts(tb, 4)
	s.IMAPS = "127.0.0.1:" + strconv.Itoa(ports[0])
	s.POP3S = "127.0.0.1:" + strconv.Itoa(ports[1])
	s.IMAP = "127.0.0.1:" + strconv.Itoa(ports[2])
	s.POP3 = "127.0.0.1:" + strconv.Itoa(ports[3])

	write := func(name string, data []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			tb.Fatal(err)
		}
		return p
	}
	certFile := write("cert.pem", cert.CertPEM, 0o644)
	keyFile := write("key.pem", cert.KeyPEM, 0o600)
	var pw bytes.Buffer
	for u, p := range opts.Users {
		fmt.Fprintf(&pw, "%s:{PLAIN}%s::::::\n", u, p)
	}
	passwd := write("passwd", pw.Bytes(), 0o644)
	for _, sub := range []string{"run", "state", "mail"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	for u := range opts.Users {
		if err := s.makeMaildir(u); err != nil {
			tb.Fatal(err)
		}
	}
	for u, msgs := range opts.Seed {
		for _, m := range msgs {
			if err := s.Deliver(u, m); err != nil {
				tb.Fatal(err)
			}
		}
	}

	conf := fmt.Sprintf(`# private test configuration
base_dir = %[1]s/run
state_dir = %[1]s/state
instance_name = dovecottest-%[2]d
log_path = %[1]s/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = required
ssl_cert = <%[3]s
ssl_key = <%[4]s
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = %[7]s
default_login_user = %[7]s
mail_uid = %[8]d
mail_gid = %[9]d
first_valid_uid = 1
mail_location = maildir:%[1]s/mail/%%u
mailbox_idle_check_interval = 1 secs
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[5]s
}
userdb {
  driver = static
  args = uid=%[8]d gid=%[9]d home=%[1]s/mail/%%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[12]d
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = %[10]d
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = %[13]d
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = %[11]d
    ssl = yes
  }
}
protocol imap {
  mail_max_userip_connections = 50
}

`, dir, ports[0], certFile, keyFile, passwd, "", loginUser(), s.uid, s.gid, ports[0], ports[1], ports[2], ports[3])
	confFile := write("dovecot.conf", []byte(conf), 0o644)

	cmd := exec.Command(bin, "-F", "-c", confFile)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	s.cmd = cmd
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if tb.Failed() {
			tb.Logf("dovecot log:\n%s%s", out.String(), s.Log())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for _, a := range []string{s.IMAPS, s.POP3S, s.IMAP, s.POP3} {
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case err := <-exited:
				tb.Fatalf("dovecot exited: %v\n%s%s", err, out.String(), s.Log())
			default:
			}
			if time.Now().After(deadline) {
				tb.Fatalf("dovecot not listening on %s: %v\n%s", a, err, s.Log())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return s
}

// Log returns Dovecot's log so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "dovecot.log"))
	return string(b)
}

// Maildir returns the maildir of user.
func (s *Server) Maildir(user string) string {
	return filepath.Join(s.Dir, "mail", user)
}

func (s *Server) makeMaildir(user string) error {
	root := s.Maildir(user)
	for _, d := range []string{root, filepath.Join(root, "new"), filepath.Join(root, "cur"), filepath.Join(root, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if err := os.Chown(d, s.uid, s.gid); err != nil {
			return err
		}
	}
	return nil
}

// Deliver writes msg into the INBOX of user as a maildir delivery agent
// does (tmp/, then a rename into new/); Dovecot sees it at its next look.
func (s *Server) Deliver(user string, msg []byte) error {
	if _, ok := s.users[user]; !ok {
		return fmt.Errorf("dovecottest: no user %q", user)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	name := fmt.Sprintf("%d.M%dP%dR%s.dovecottest", time.Now().Unix(), s.delivered.Add(1), os.Getpid(), hex.EncodeToString(rnd[:]))
	root := s.Maildir(user)
	tmp := filepath.Join(root, "tmp", name)
	if err := os.WriteFile(tmp, msg, 0o600); err != nil {
		return err
	}
	if err := os.Chown(tmp, s.uid, s.gid); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(root, "new", name))
}

// Count returns the number of messages in the INBOX of user, on disk.
func (s *Server) Count(user string) int {
	n := 0
	for _, d := range []string{"new", "cur"} {
		es, _ := os.ReadDir(filepath.Join(s.Maildir(user), d))
		n += len(es)
	}
	return n
}

// mailUser returns the uid and gid mail is owned by: nobody's when the
// tests run as root (Dovecot does not serve mail as root), else the
// current user's.
func mailUser(tb testing.TB) (int, int) {
	if os.Geteuid() != 0 {
		return os.Geteuid(), os.Getegid()
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		tb.Skipf("no user nobody: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid
}

// loginUser returns the unprivileged user of Dovecot's login and internal
// processes.
func loginUser() string {
	if os.Geteuid() != 0 {
		if u, err := user.Current(); err == nil {
			return u.Username
		}
	}
	if _, err := user.Lookup("dovenull"); err == nil {
		return "dovenull"
	}
	return "nobody"
}

// openPath lets other users traverse the folders from the system temporary
// folder down to dir, as Dovecot's unprivileged processes must.
func openPath(tb testing.TB, dir string) {
	top := filepath.Clean(os.TempDir())
	for d := filepath.Clean(dir); strings.HasPrefix(d, top+string(filepath.Separator)); d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.Chmod(d, fi.Mode().Perm()|0o711); err != nil {
			tb.Fatal(err)
		}
	}
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(tb testing.TB, n int) []int {
	var ls []net.Listener
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// Own gives user's Maildir, as another writer of the test left it, to the
// user Dovecot serves mail as, who must read and update it; nothing to do
// unless the test runs as root. Call it once the other writer is done.
func (s *Server) Own(user string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return filepath.WalkDir(s.Maildir(user), func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, s.uid, s.gid)
	})
}
