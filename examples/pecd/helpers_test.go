package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// needTool skips the test when a program is missing, and fails it
// instead under CI=true.
func needTool(t *testing.T, path, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (Debian package %s), required under CI=true", path, pkg)
		}
		t.Skipf("%s not installed (Debian package %s)", path, pkg)
	}
	return p
}

// needSwaks is needTool for swaks, with its TLS module.
func needSwaks(t *testing.T) string {
	t.Helper()
	p := needTool(t, "swaks", "swaks")
	if out, _ := exec.Command(p, "--support").CombinedOutput(); !bytes.Contains(out, []byte("=== TLS supported")) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("swaks without TLS (Debian package libnet-ssleay-perl): %s", out)
		}
		t.Skipf("swaks without TLS (Debian package libnet-ssleay-perl): %s", out)
	}
	return p
}

var (
	pecToolOnce sync.Once
	pecToolPath string
	pecToolErr  error
)

// pecTool builds the pec tool once for the test binary.
func pecTool(t *testing.T) string {
	t.Helper()
	pecToolOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pecd-test-pec-")
		if err != nil {
			pecToolErr = err
			return
		}
		pecToolPath = filepath.Join(dir, "pec")
		out, err := exec.Command("go", "build", "-o", pecToolPath, "github.com/pecsdk/pec/examples/pec").CombinedOutput()
		if err != nil {
			pecToolErr = fmt.Errorf("go build pec: %v\n%s", err, out)
		}
	})
	if pecToolErr != nil {
		t.Fatal(pecToolErr)
	}
	return pecToolPath
}

// testNodeOptions make the providers retry and poll quickly.
var testNodeOptions = nodeOptions{PollInterval: 50 * time.Millisecond, RetryMin: 100 * time.Millisecond, RetryMax: time.Second}

// startTestDemo starts the demo network in dir on a random port offset,
// trying others while ports are taken, and stops it at the end of the
// test.
func startTestDemo(t *testing.T, dir string) *demoNetwork {
	t.Helper()
	var last error
	for range 8 {
		off := 1000 + rand.IntN(33000)
		d, err := startDemo(context.Background(), demoOptions{Dir: dir, PortOffset: off, Log: testLogger(t), Node: testNodeOptions})
		if err == nil {
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				d.Shutdown(ctx)
			})
			return d
		}
		last = err
		if !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	t.Fatal(last)
	return nil
}

// runSwaks runs swaks with args, bounded in time, and returns its output.
func runSwaks(t *testing.T, swaks string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, swaks, args...).CombinedOutput()
	return string(out), err
}

// startAlone starts, in state, a second node from the configuration conf
// of the demo network, read back as -config reads it after its time
// limits are set to warning and final and its listeners to free ports,
// whose route to beta leads to a port where nothing answers. It is
// stopped at the end of the test.
func startAlone(t *testing.T, d *demoNetwork, conf, state string, warning, final time.Duration) *node {
	t.Helper()
	cfg, err := LoadConfig(conf)
	if err != nil {
		t.Fatal(err)
	}
	l := &cfg.Listen
	l.Submission, l.Incoming, l.IMAP = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	l.SubmissionSTARTTLS, l.IMAPSTARTTLS, l.POP3, l.POP3STARTTLS, l.Web = "", "", "", "", ""
	s := &cfg.Storage
	s.Spool, s.Maildir, s.Trace = filepath.Join(state, "spool"), filepath.Join(state, "maildir"), filepath.Join(state, "trace")
	cfg.Index.State = filepath.Join(state, "index.state")
	cfg.TimeLimits = TimeLimitsConfig{Warning: warning, Final: final}
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	silent.Close() // nothing listens there any more
	cfg.Routes = map[string]string{"pec.beta.test": silent.Addr().String(), demoMailDomain: d.Mail.SMTPAddr}
	var b strings.Builder
	if err := WriteConfig(&b, cfg); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(state, "alone.conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if cfg, err = LoadConfig(path); err != nil {
		t.Fatal(err)
	}
	if cfg.TimeLimits.Warning != warning || cfg.TimeLimits.Final != final {
		t.Fatalf("time limits read back as %+v", cfg.TimeLimits)
	}
	no := testNodeOptions
	no.LoopbackOnly = true
	n, err := startNode(context.Background(), cfg, testLogger(t), &no)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.Shutdown(ctx)
	})
	return n
}

// testLogger logs to the test when -v is given.
func testLogger(t *testing.T) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// fetched is a message read from a mailbox.
type fetched struct {
	Raw    []byte
	Header mail.Header
}

// Get returns a header field.
func (f fetched) Get(k string) string { return f.Header.Get(k) }

// parseFetched parses a raw message's header.
func parseFetched(t *testing.T, raw []byte) fetched {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("fetched message does not parse: %v\n%.500s", err, raw)
	}
	return fetched{Raw: raw, Header: m.Header}
}

// curl runs curl with args and returns its output.
func curl(t *testing.T, ca string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "curl", append([]string{"-sS", "--cacert", ca}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("curl %v: %v: %s", args, err, stderr.String())
	}
	return out, nil
}

// imapFetchAll reads every message of user's INBOX at addr over IMAPS.
func imapFetchAll(t *testing.T, ca, addr, user, password string) []fetched {
	t.Helper()
	base := "imaps://" + addr + "/INBOX"
	out, err := curl(t, ca, "--user", user+":"+password, base, "-X", "UID SEARCH ALL")
	if err != nil {
		t.Fatal(err)
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

// pop3FetchAll reads every message of user's mailbox at addr over POP3S.
func pop3FetchAll(t *testing.T, ca, addr, user, password string) []fetched {
	t.Helper()
	base := "pop3s://" + addr + "/"
	out, err := curl(t, ca, "--user", user+":"+password, base)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []fetched
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		raw, err := curl(t, ca, "--user", user+":"+password, base+f[0])
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, parseFetched(t, raw))
	}
	return msgs
}

// waitFor calls fetch until cond holds of what it returns, or fails the
// test after timeout.
func waitFor(t *testing.T, what string, timeout time.Duration, fetch func() []fetched, cond func([]fetched) bool) []fetched {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := fetch()
		if cond(msgs) {
			return msgs
		}
		if time.Now().After(deadline) {
			var subj []string
			for _, m := range msgs {
				subj = append(subj, m.Get("Subject"))
			}
			t.Fatalf("%s: not after %v; have %q", what, timeout, subj)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// about returns the messages whose subject ends with ": "+subject, or is
// subject, and whose header field k (when given) is v.
func about(msgs []fetched, subject, k, v string) []fetched {
	var out []fetched
	for _, m := range msgs {
		s := m.Get("Subject")
		if s != subject && !strings.HasSuffix(s, ": "+subject) {
			continue
		}
		if k != "" && !strings.EqualFold(m.Get(k), v) {
			continue
		}
		out = append(out, m)
	}
	return out
}

// TestMain removes the pec tool built for the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if pecToolPath != "" {
		os.RemoveAll(filepath.Dir(pecToolPath))
	}
	os.Exit(code)
}
