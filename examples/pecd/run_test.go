package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCheckLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:25": true, "[::1]:25": true, "localhost:25": true, "127.1.2.3:25": true,
		"0.0.0.0:25": false, ":25": false, "192.0.2.1:25": false, "[::]:25": false, "example.org:25": false,
	} {
		c := &Config{Listen: ListenConfig{Submission: "127.0.0.1:465", Incoming: addr}}
		if err := checkLoopback(c); (err == nil) != ok {
			t.Errorf("%s: %v", addr, err)
		}
	}
}

// TestRunConfig runs pecd -config -check on the configuration the demo
// network wrote, then on the same configuration listening beyond
// loopback, which the demo passwords forbid.
func TestRunConfig(t *testing.T) {
	dir := t.TempDir()
	startTestDemo(t, dir)
	conf := filepath.Join(dir, "alfa.conf")
	var out, errOut bytes.Buffer
	if st := run(context.Background(), []string{"-config", conf, "-check"}, nil, &out, &errOut); st != 0 {
		t.Fatalf("status %d: %s", st, errOut.String())
	}
	if !strings.Contains(out.String(), "usable") {
		t.Errorf("output: %s", out.String())
	}

	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	open := regexp.MustCompile(`(?m)^incoming = 127\.0\.0\.1:`).ReplaceAll(b, []byte("incoming = 0.0.0.0:"))
	openConf := filepath.Join(dir, "open.conf")
	os.WriteFile(openConf, open, 0o644)
	errOut.Reset()
	if st := run(context.Background(), []string{"-config", openConf, "-check"}, nil, &out, &errOut); st != 1 ||
		!strings.Contains(errOut.String(), "published demo password") {
		t.Errorf("status %d: %s", st, errOut.String())
	}

	for _, args := range [][]string{{"-check"}, {"-config", conf, "-port-offset", "5"}, {"extra"}} {
		if st := run(context.Background(), args, nil, &out, &errOut); st != 2 {
			t.Errorf("%q: status %d", args, st)
		}
	}

	errOut.Reset()
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, append(b, "\n[limits]\nmax-total-size = lots\n"...), 0o644)
	if st := run(context.Background(), []string{"-config", bad}, nil, &out, &errOut); st != 1 ||
		!strings.Contains(errOut.String(), bad+":") || !strings.Contains(errOut.String(), "max-total-size") {
		t.Errorf("status %d: %s", st, errOut.String())
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunDemoShutdown starts pecd as main does, with no flag but its
// directory and ports, submits a message, stops it as SIGTERM would, and
// starts it again: it reuses its PKI, and what was accepted is still
// processed to the end.
func TestRunDemoShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the demo network twice")
	}
	var dir string
	var status int
	var off int
	for range 5 {
		// Each attempt starts from an empty directory, so that a start
		// refused for a busy port does not leave a PKI the next one reuses.
		dir = t.TempDir()
		var out syncBuffer
		off = 1000 + int(time.Now().UnixNano()%33000)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int)
		var errOut syncBuffer
		go func() {
			done <- run(ctx, []string{"-data", dir, "-port-offset", strconv.Itoa(off), "-log-level", "error"}, nil, &out, &errOut)
		}()
		for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), "accounts (login = address)"); {
			select {
			case status = <-done:
				cancel()
				if strings.Contains(errOut.String(), "address already in use") {
					goto retry
				}
				t.Fatalf("pecd exited with %d: %s", status, errOut.String())
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatal("demo not started after a minute")
			}
		}
		if !strings.Contains(out.String(), "generated a new test CA") {
			t.Errorf("first start did not say it generated the PKI:\n%s", out.String())
		}
		{
			addr := "127.0.0.1:" + strconv.Itoa(demoBase("alfa")+465+off)
			pki, err := loadDemoPKI(dir, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if err := submitOnce(addr, &tls.Config{RootCAs: pki.Anchors(), ServerName: "127.0.0.1"}, "prima dello stop"); err != nil {
				t.Fatal(err)
			}
		}
		cancel() // what SIGINT and SIGTERM do, through signal.NotifyContext
		select {
		case status = <-done:
			if status != 0 {
				t.Fatalf("status %d after shutdown: %s", status, errOut.String())
			}
		case <-time.After(time.Minute):
			t.Fatal("no shutdown within a minute")
		}
		break
	retry:
	}

	d := startTestDemo(t, dir)
	if d.PKI.Created {
		t.Error("second start generated the PKI again")
	}
	alice := filepath.Join(dir, "alfa", "maildir", "alice@pec.alfa.test")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		box := readMaildir(t, alice)
		if len(bySubject(box, "accettazione")["prima dello stop"]) == 1 && len(bySubject(box, "avvenuta-consegna")["prima dello stop"]) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("receipts of the message submitted before the stop: %d in alice's INBOX", len(box))
		}
	}
}
