// Package pgtest gives tests a real PostgreSQL database: a private server
// it starts itself (initdb into a temporary folder, postgres on a free
// port of 127.0.0.1, password authentication, fsync on), or the server
// named by the environment variable PEC_POSTGRES_URL. Each test gets a
// database of its own, dropped at its end.
//
// Tests run as root here and in CI, and postgres refuses to run as root:
// the server is then started as the postgres system user (or nobody).
// Missing PostgreSQL binaries skip the test, or fail it under CI=true.
//
// A test binary whose TestMain calls Main shares one server between its
// tests, stopped when they end; without Main, each test starts a server of
// its own (a few seconds each).
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pecsdk/pec/internal/testenv"
)

// EnvURL names the environment variable holding the URL of an external
// server to use instead of a private one. Its user must be allowed to
// create databases.
const EnvURL = "PEC_POSTGRES_URL"

// Server is a running private PostgreSQL server.
type Server struct {
	URL string // superuser URL of the "postgres" database
	Dir string // the private folder: data, socket, log

	bin, data, sock string
	cred            *syscall.Credential
	port            int

	cmd  *exec.Cmd
	done chan struct{}
	err  error // the server's exit, once done is closed
}

// BinDir returns the folder of the PostgreSQL server binaries (initdb,
// postgres), preferring Debian's newest /usr/lib/postgresql/N/bin, then
// the PATH; "" when there is none.
func BinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExec(filepath.Join(d, "postgres")) {
			return d
		}
	}
	return ""
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// Start initialises a cluster under dir (which must exist and be empty or
// new) and starts its server on a free port of 127.0.0.1. When the process
// runs as root, the server runs as the postgres system user. The caller
// must Stop it.
func Start(ctx context.Context, binDir, dir string) (*Server, error) {
	cred, uid, gid, err := serverUser()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// The server user must reach the folder; its data stays private.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	if cred != nil {
		if err := reachable(dir); err != nil {
			return nil, err
		}
	}
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "sock")
	for _, d := range []string{data, sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, err
		}
		if cred != nil {
			if err := os.Chown(d, uid, gid); err != nil {
				return nil, err
			}
		}
	}
	password := randomHex(16)
	pwfile := filepath.Join(sock, "pw")
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(pwfile, uid, gid); err != nil {
			return nil, err
		}
	}
	var out bytes.Buffer
	initdb := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"),
		"-D", data, "-U", "postgres", "--pwfile", pwfile, "--auth", "scram-sha-256",
		"-E", "UTF8", "--locale", "C", "--no-instructions")
	initdb.Dir, initdb.Stdout, initdb.Stderr = dir, &out, &out
	initdb.Env = []string{"PATH=" + binDir + ":/usr/bin:/bin", "LC_ALL=C"}
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	err = initdb.Run()
	os.Remove(pwfile)
	if err != nil {
		return nil, fmt.Errorf("pgtest: initdb: %v\n%s", err, out.String())
	}

	s := &Server{Dir: dir, bin: binDir, data: data, sock: sock, cred: cred}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if s.port, err = freePort(); err != nil {
			return nil, err
		}
		s.URL = (&url.URL{Scheme: "postgres", User: url.UserPassword("postgres", password),
			Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)), Path: "/postgres",
			RawQuery: "sslmode=disable"}).String()
		if lastErr = s.run(ctx); lastErr == nil {
			return s, nil
		}
		// most likely the free port was taken meanwhile
	}
	return nil, lastErr
}

// run starts the server on s.port and waits until it takes connections.
func (s *Server) run(ctx context.Context) error {
	logf, err := os.OpenFile(filepath.Join(s.Dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(s.bin, "postgres"),
		"-D", s.data, "-p", strconv.Itoa(s.port), "-k", s.sock,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "full_page_writes=on",
		"-c", "max_connections=300", "-c", "logging_collector=off")
	cmd.Dir, cmd.Stdout, cmd.Stderr = s.Dir, logf, logf
	cmd.Env = []string{"PATH=" + s.bin + ":/usr/bin:/bin", "LC_ALL=C"}
	// A process group of its own keeps a terminal's ^C (SIGINT to the
	// foreground group) from reaching the server; Pdeathsig: a test
	// binary that dies takes its server with it (SIGINT is PostgreSQL's
	// fast shutdown).
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true, Pdeathsig: syscall.SIGINT}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	done := make(chan struct{})
	s.cmd, s.done = cmd, done
	go func() { s.err = cmd.Wait(); close(done) }()

	ready, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		c, err := pgx.Connect(ready, s.URL)
		if err == nil {
			c.Close(ready)
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("pgtest: postgres exited: %v\n%s", s.err, s.Log())
		case <-ready.Done():
			s.Stop()
			return fmt.Errorf("pgtest: postgres not ready: %v\n%s", err, s.Log())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Kill ends every process of the server at once with SIGKILL, as a crash
// of the machine would, and waits for them. Restart starts the server
// again on the same data, which PostgreSQL recovers from its WAL.
func (s *Server) Kill() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	pid := s.cmd.Process.Pid
	// Each backend is a process group of its own: stop the postmaster so
	// that it starts no more, then kill its children and it.
	syscall.Kill(pid, syscall.SIGSTOP)
	kids := children(pid)
	for _, k := range kids {
		syscall.Kill(k, syscall.SIGKILL)
	}
	err := syscall.Kill(pid, syscall.SIGKILL)
	<-s.done
	// The new postmaster refuses to start while an old backend still
	// holds the shared memory: wait until they are gone.
	for _, k := range kids {
		for i := 0; i < 500 && alive(k); i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return err
}

// children returns the processes whose parent is pid, from /proc.
func children(pid int) []int {
	var out []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		if ppid, _, ok := procStat(f); ok && ppid == pid {
			if k, err := strconv.Atoi(filepath.Base(filepath.Dir(f))); err == nil {
				out = append(out, k)
			}
		}
	}
	return out
}

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	_, state, ok := procStat(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	return ok && state != "Z" && state != "X"
}

// procStat reads the parent and the state of a process from its
// /proc/PID/stat.
func procStat(path string) (ppid int, state string, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, "", false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, "", false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, "", false
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, f[0], err == nil
}

// Restart starts a stopped or killed server again, on the same port.
func (s *Server) Restart(ctx context.Context) error {
	select {
	case <-s.done:
	default:
		return errors.New("pgtest: Restart of a running server")
	}
	return s.run(ctx)
}

// Log returns what the server wrote to its log.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "server.log"))
	return string(b)
}

// Stop shuts the server down (fast shutdown: sessions are ended, the data
// is checkpointed) and waits for it.
func (s *Server) Stop() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
		return nil
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		return errors.New("pgtest: postgres did not stop in 30 s; killed")
	}
}

// CreateDB creates an empty database on the server at admin and returns
// its URL. DropDB drops it.
func CreateDB(ctx context.Context, admin string) (dbURL, name string, err error) {
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", "", fmt.Errorf("pgtest: %s must be a postgres:// URL", EnvURL)
	}
	name = "pectest_" + randomHex(8)
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", "", err
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", "", err
	}
	u.Path = "/" + name
	return u.String(), name, nil
}

// DropDB drops the database name from the server at admin, ending its
// sessions first.
func DropDB(ctx context.Context, admin, name string) error {
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

var shared struct {
	main bool // Main runs the tests
	once sync.Once
	srv  *Server
	dir  string
	err  error
}

// DB returns the URL of a new, empty database, dropped at the end of the
// test: on the server of PEC_POSTGRES_URL when it is set, else on this
// test binary's private server, started on first use when the tests run
// through Main, or else on a private server for this test alone.
func DB(tb testing.TB) string {
	tb.Helper()
	admin := os.Getenv(EnvURL)
	if admin == "" && !shared.main {
		// Without Main nothing would stop a shared server: the test
		// gets a server of its own.
		admin = NewServer(tb).URL
	}
	if admin == "" {
		bin := binDir(tb)
		shared.once.Do(func() {
			shared.dir, shared.err = os.MkdirTemp("", "pgtest-")
			if shared.err == nil {
				shared.srv, shared.err = Start(context.Background(), bin, shared.dir)
			}
		})
		if shared.err != nil {
			tb.Fatalf("pgtest: private server: %v", shared.err)
		}
		admin = shared.srv.URL
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dbURL, name, err := CreateDB(ctx, admin)
	if err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := DropDB(ctx, admin, name); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return dbURL
}

// NewServer starts a private server for this test alone (one that the
// test may Kill and Restart), stopped and removed at the test's end. It
// ignores PEC_POSTGRES_URL.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	bin := binDir(tb)
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, bin, dir)
	if err != nil {
		os.RemoveAll(dir)
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Error(err)
		}
		os.RemoveAll(dir)
	})
	return s
}

// binDir returns BinDir, skipping the test (failing it under CI=true) when
// there is none.
func binDir(tb testing.TB) string {
	tb.Helper()
	bin := BinDir()
	if bin == "" {
		if testenv.CI() {
			tb.Fatalf("PostgreSQL (initdb, postgres) is required under CI=true, or %s", EnvURL)
		}
		tb.Skipf("PostgreSQL server binaries not installed and %s unset: skipping", EnvURL)
	}
	return bin
}

// Main runs the tests of m and then stops the private server, if one was
// started, and removes its folder. Call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	shared.main = true
	code := m.Run()
	if shared.srv != nil {
		if err := shared.srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// serverUser returns the credential to start the server with: nil when
// not root, else the postgres system user's (nobody's when there is none).
func serverUser() (*syscall.Credential, int, int, error) {
	if os.Geteuid() != 0 {
		return nil, -1, -1, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, uid, gid, nil
	}
	return nil, -1, -1, errors.New("pgtest: running as root and neither the postgres nor the nobody user exists")
}

// reachable checks that every folder above dir lets others through, as
// the server user must (a private TMPDIR does not).
func reachable(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("pgtest: %s is closed to other users (mode %v): the server user cannot reach %s; set TMPDIR elsewhere", d, fi.Mode().Perm(), abs)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
