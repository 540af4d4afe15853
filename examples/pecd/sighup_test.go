package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/index"
)

// TestSIGHUP runs the pecd program with -config on a configuration made
// from the demo's files, and sends it real signals: a SIGHUP after a
// domain is added reloads it (the log says what changed, the published
// entry lists the domain), a SIGHUP after a mistake is refused with the
// file and line, and SIGTERM stops it with status 0.
func TestSIGHUP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs pecd")
	}
	dir := t.TempDir()
	d := startTestDemo(t, dir)
	state := t.TempDir()
	cfg := *d.Nodes[0].cfg
	cfg.Listen = ListenConfig{Submission: "127.0.0.1:0", Incoming: "127.0.0.1:0"}
	cfg.Storage.Spool, cfg.Storage.Maildir, cfg.Storage.Trace = filepath.Join(state, "spool"), filepath.Join(state, "maildir"), filepath.Join(state, "trace")
	cfg.Index.State, cfg.Index.Publish = filepath.Join(state, "index.state"), filepath.Join(state, "entry.ldif")
	var b strings.Builder
	if err := WriteConfig(&b, &cfg); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(state, "pecd.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	bin := filepath.Join(t.TempDir(), "pecd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-config", conf)
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	wait := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after 30s\nstdout:\n%s\nstderr:\n%s", what, stdout.String(), stderr.String())
			}
		}
	}
	wait("start", func() bool { return strings.Contains(stdout.String(), "incoming") })
	lists := func(domain string) bool {
		f, err := os.Open(cfg.Index.Publish)
		if err != nil {
			return false
		}
		defer f.Close()
		s, err := index.ParseLDIF(f)
		if err != nil {
			return false
		}
		_, ok := s.Domain(domain)
		return ok
	}
	if !lists("pec.alfa.test") || lists("pec.customer.test") {
		t.Fatal("the entry published at the start does not list exactly pec.alfa.test")
	}

	good, _ := os.ReadFile(conf)
	os.WriteFile(conf, append(good, "\n[provider]\ndomain = pec.customer.test\n"...), 0o644)
	cmd.Process.Signal(syscall.SIGHUP)
	wait("reload", func() bool { return strings.Contains(stderr.String(), "msg=reloaded") })
	if log := stderr.String(); !strings.Contains(log, "domains pec.alfa.test, pec.customer.test") {
		t.Errorf("the reload does not say the domains changed:\n%s", log)
	}
	if !lists("pec.customer.test") {
		t.Error("the published entry does not list pec.customer.test after the reload")
	}

	added, _ := os.ReadFile(conf)
	os.WriteFile(conf, append(added, "[limits]\nmax-recipients = many\n"...), 0o644)
	line := strings.Count(string(added), "\n") + 2
	cmd.Process.Signal(syscall.SIGHUP)
	wait("refusal", func() bool { return strings.Contains(stderr.String(), "reload refused") })
	if log := stderr.String(); !strings.Contains(log, conf+":"+strconv.Itoa(line)+": [limits] max-recipients") {
		t.Errorf("the refusal does not name %s:%d:\n%s", conf, line, log)
	}
	if !lists("pec.customer.test") {
		t.Error("a refused reload changed the published entry")
	}

	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("pecd after SIGTERM: %v\n%s", err, stderr.String())
	}
}

// lockedBuffer is a buffer a process writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
