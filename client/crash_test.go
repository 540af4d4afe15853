package client_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/internal/dovecottest"
	"github.com/pecsdk/pec/sample"
)

// TestCrashMidFetch kills a fetching process (SIGKILL: no deferred save,
// no cleanup) while it is storing messages, then fetches again: every
// message ends up in the folder exactly once, and nothing half-written is
// left or counted.
func TestCrashMidFetch(t *testing.T) {
	if os.Getenv("PEC_CRASH_CHILD") != "" {
		t.Skip("run as the child of TestCrashMidFetch")
	}
	set, msgs := seedSet(t)
	srv := startSeeded(t, msgs)
	for _, proto := range []client.Protocol{client.IMAP, client.POP3} {
		t.Run(string(proto), func(t *testing.T) {
			dir := t.TempDir()
			addr := srv.IMAPS
			if proto == client.POP3 {
				addr = srv.POP3S
			}
			ca := filepath.Join(t.TempDir(), "ca.pem")
			if err := os.WriteFile(ca, srv.TLS.CAPEM(), 0o600); err != nil {
				t.Fatal(err)
			}
			child := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
			child.Env = append(os.Environ(), "PEC_CRASH_CHILD=1", "PEC_CRASH_DIR="+dir, "PEC_CRASH_ADDR="+addr,
				"PEC_CRASH_PROTO="+string(proto), "PEC_CRASH_CA="+ca)
			if err := child.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for len(emlFiles(t, dir)) < 4 {
				if time.Now().After(deadline) {
					child.Process.Kill()
					t.Fatal("the child stored nothing")
				}
				time.Sleep(5 * time.Millisecond)
			}
			child.Process.Kill()
			child.Wait()
			before := len(emlFiles(t, dir))
			if before >= len(msgs) {
				t.Fatalf("the child finished (%d files) before it was killed", before)
			}
			o := fetchOpts(srv, proto, client.SecurityTLS, dir, set)
			res, err := client.Fetch(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			after := emlFiles(t, dir)
			if len(after) != len(msgs) {
				t.Errorf("%d files after the second fetch, want %d", len(after), len(msgs))
			}
			if res.New != len(msgs)-before {
				t.Errorf("second fetch: %d new, want %d (%d were stored before the crash)", res.New, len(msgs)-before, before)
			}
			// Only the message whose file was written and whose journal
			// record was not may come again (and is not stored again).
			if again := len(res.Messages) - res.New; again > 1 {
				t.Errorf("%d messages fetched again after the crash, want at most 1", again)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
			t.Logf("%s: killed after %d of %d stored; the next fetch fetched %d again and %d new", proto, before, len(msgs), len(res.Messages)-res.New, res.New)
		})
	}
}

// TestCrashChild is the fetching process of TestCrashMidFetch: a slow
// fetch (each message is followed by a pause) that is killed midway.
func TestCrashChild(t *testing.T) {
	if os.Getenv("PEC_CRASH_CHILD") == "" {
		t.Skip("only as the child of TestCrashMidFetch")
	}
	pool, err := dovecottest.PoolFromPEM(os.Getenv("PEC_CRASH_CA"))
	if err != nil {
		t.Fatal(err)
	}
	proto := client.Protocol(os.Getenv("PEC_CRASH_PROTO"))
	o := &client.FetchOptions{
		Protocol: proto, Server: endpoint(os.Getenv("PEC_CRASH_ADDR"), client.SecurityTLS),
		TLSConfig: dovecottest.ClientConfigFor(pool), Username: sample.Alice, Password: alicePass,
		Dir:      os.Getenv("PEC_CRASH_DIR"),
		Progress: func(client.Progress) { time.Sleep(40 * time.Millisecond) },
	}
	client.Fetch(context.Background(), o)
	t.Fatal("not killed")
}
