package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/mail"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/filestore"
)

// The crash test runs the demo network in a child process (this test
// binary, in TestCrashChild), submits messages concurrently while it
// kills the child with SIGKILL and starts it again, then checks what
// the users and the trace got.
const (
	envChildDir    = "PECD_CRASH_CHILD_DIR"
	envChildOffset = "PECD_CRASH_CHILD_OFFSET"
	envMessages    = "PECD_CRASH_MESSAGES" // default 500
	envChildLog    = "PECD_CRASH_LOG"      // set: the child logs to standard error
	envStrict      = "PECD_CRASH_STRICT"   // set: a message deposited twice fails the test
	crashKills     = 4
)

// TestCrashChild is the child process of TestCrashRestart; it does
// nothing in a normal run.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(envChildDir)
	if dir == "" {
		t.Skip("the child process of TestCrashRestart")
	}
	off, _ := strconv.Atoi(os.Getenv(envChildOffset))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.DiscardHandler)
	if os.Getenv(envChildLog) != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	d, err := startDemo(ctx, demoOptions{Dir: dir, PortOffset: off, Log: log, Node: testNodeOptions})
	if err != nil {
		fmt.Println("failed:", err)
		os.Exit(3)
	}
	fmt.Println("ready")
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d.Shutdown(sctx)
}

// crashChild is a running child.
type crashChild struct {
	cmd  *exec.Cmd
	done chan error
}

// startCrashChild starts the demo network in a child process and waits
// for it to serve.
func startCrashChild(t *testing.T, dir string, offset int) (*crashChild, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChildDir+"="+dir, envChildOffset+"="+strconv.Itoa(offset))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &crashChild{cmd: cmd, done: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l := sc.Text(); l == "ready" || strings.HasPrefix(l, "failed:") {
				select {
				case ready <- l:
				default:
				}
			}
		}
		io.Copy(io.Discard, out)
		c.done <- cmd.Wait()
	}()
	select {
	case l := <-ready:
		if l != "ready" {
			<-c.done
			return nil, fmt.Errorf("child: %s", l)
		}
		return c, nil
	case err := <-c.done:
		return nil, fmt.Errorf("child exited before serving: %v", err)
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		<-c.done
		return nil, fmt.Errorf("child not ready after 2 minutes")
	}
}

// kill ends the child with SIGKILL and waits for it.
func (c *crashChild) kill() {
	c.cmd.Process.Kill()
	<-c.done
}

// stop ends the child with SIGTERM, as an operator would.
func (c *crashChild) stop(t *testing.T) {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.done:
		if err != nil {
			t.Errorf("child after SIGTERM: %v", err)
		}
	case <-time.After(time.Minute):
		c.kill()
		t.Error("child did not stop within a minute of SIGTERM")
	}
}

// attempt is one submission.
type attempt struct {
	Subject string
	Acked   bool // the server answered 250 to the DATA
}

func TestCrashRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test")
	}
	total := 500
	if v, err := strconv.Atoi(os.Getenv(envMessages)); err == nil && v > 0 {
		total = v
	}
	dir := t.TempDir()
	pki, err := loadDemoPKI(dir, time.Now()) // once, so that children start quickly
	if err != nil {
		t.Fatal(err)
	}
	var child *crashChild
	var offset int
	for range 8 {
		offset = 1000 + rand.IntN(33000)
		if child, err = startCrashChild(t, dir, offset); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	var childMu sync.Mutex
	defer func() {
		childMu.Lock()
		defer childMu.Unlock()
		if child != nil {
			child.kill()
		}
	}()
	submission := "127.0.0.1:" + strconv.Itoa(demoBase("alfa")+465+offset)
	tlsConf := &tls.Config{RootCAs: pki.Anchors(), ServerName: "127.0.0.1"}

	// Submit: each message is tried until a 250, each try under a
	// subject of its own, so that a try cut short by a kill is told
	// from the one that succeeded.
	var mu sync.Mutex
	var attempts []*attempt
	jobs := make(chan int)
	var wg sync.WaitGroup
	deadline := time.Now().Add(5 * time.Minute)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				for try := 0; time.Now().Before(deadline); try++ {
					a := &attempt{Subject: fmt.Sprintf("crash %d try %d", i, try)}
					mu.Lock()
					attempts = append(attempts, a)
					mu.Unlock()
					if submitOnce(submission, tlsConf, a.Subject) == nil {
						mu.Lock()
						a.Acked = true
						mu.Unlock()
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	killerDone := make(chan struct{})
	go func() {
		defer close(killerDone)
		for k := range crashKills {
			t0 := time.Now()
			time.Sleep(time.Duration(1500+rand.IntN(2000)) * time.Millisecond)
			childMu.Lock()
			child.kill()
			t.Logf("kill -9 number %d", k+1)
			var err error
			for range 5 {
				if child, err = startCrashChild(t, dir, offset); err == nil {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			childMu.Unlock()
			t.Logf("restarted in %v", time.Since(t0))
			if err != nil {
				t.Errorf("restart: %v", err)
				return
			}
		}
	}()
	start := time.Now()
	for i := range total {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	<-killerDone
	if t.Failed() {
		return
	}

	acked := 0
	for _, a := range attempts {
		if a.Acked {
			acked++
		}
	}
	if acked != total {
		t.Fatalf("%d of %d messages got a 250 before the deadline", acked, total)
	}
	t.Logf("%d messages, %d tries, %d kills, in %v", total, len(attempts), crashKills, time.Since(start))

	// Wait for every receipt due: one acceptance and one delivery
	// receipt for every message acknowledged, and for every try that
	// the provider accepted although its 250 was lost.
	alice := filepath.Join(dir, "alfa", "maildir", "alice@pec.alfa.test")
	bob := filepath.Join(dir, "beta", "maildir", "bob@pec.beta.test")
	var inbox, bobBox []maildirMessage
	complete := func() bool {
		inbox, bobBox = readMaildir(t, alice), readMaildir(t, bob)
		acc := bySubject(inbox, "accettazione")
		del := bySubject(inbox, "avvenuta-consegna")
		for _, a := range attempts {
			if (a.Acked || len(acc[a.Subject]) > 0) && len(del[a.Subject]) == 0 {
				return false
			}
		}
		return true
	}
	missing := func() string {
		acc, del := bySubject(inbox, "accettazione"), bySubject(inbox, "avvenuta-consegna")
		var m []string
		for _, a := range attempts {
			if (a.Acked || len(acc[a.Subject]) > 0) && len(del[a.Subject]) == 0 {
				m = append(m, fmt.Sprintf("%q (acknowledged %v, %d acceptances)", a.Subject, a.Acked, len(acc[a.Subject])))
			}
		}
		return fmt.Sprintf("%d delivery receipts: %s", len(m), strings.Join(m[:min(len(m), 10)], ", "))
	}
	for wait := time.Now().Add(3 * time.Minute); !complete(); {
		if time.Now().After(wait) {
			t.Fatalf("receipts still missing after 3 minutes: %s", missing())
		}
		time.Sleep(time.Second)
	}
	t.Logf("every receipt in after %v", time.Since(start))
	time.Sleep(2 * time.Second) // anything still due would show now
	complete()
	childMu.Lock()
	child.stop(t)
	child = nil
	childMu.Unlock()

	acc := bySubject(inbox, "accettazione")
	del := bySubject(inbox, "avvenuta-consegna")
	env := bySubject(bobBox, "")
	for _, a := range attempts {
		n := len(distinct(acc[a.Subject]))
		switch {
		case a.Acked && n != 1:
			t.Errorf("%q: acknowledged, %d acceptances", a.Subject, n)
		case !a.Acked && n > 1:
			t.Errorf("%q: %d acceptances", a.Subject, n)
		}
		if n == 0 {
			if len(del[a.Subject]) > 0 || len(env[a.Subject]) > 0 {
				t.Errorf("%q: delivered without acceptance", a.Subject)
			}
			continue
		}
		if d := len(distinct(del[a.Subject])); d != 1 {
			t.Errorf("%q: %d delivery receipts", a.Subject, d)
		}
		if e := len(distinct(env[a.Subject])); e != 1 {
			t.Errorf("%q: %d envelopes for bob", a.Subject, e)
		}
	}
	// Nothing is deposited twice: the provider may repeat a deposit or a
	// relay that a crash cut between doing it and recording it (package
	// provider), but the mailboxes store the same bytes once
	// (mailbox.MaildirOptions.Once). PECD_CRASH_STRICT is kept for
	// compatibility; the check is always strict.
	strict := true
	for name, box := range map[string][]maildirMessage{"alice": inbox, "bob": bobBox} {
		copies := map[string][]maildirMessage{}
		for _, m := range box {
			copies[m.ID] = append(copies[m.ID], m)
		}
		dup := 0
		for id, ms := range copies {
			if len(ms) == 1 {
				continue
			}
			dup++
			if strict || len(ms) > 1+crashKills {
				t.Errorf("%s: %s deposited %d times", name, id, len(ms))
			}
			for _, m := range ms[1:] {
				if m.Sum != ms[0].Sum {
					t.Errorf("%s: two different messages with the Message-ID %s", name, id)
				}
			}
		}
		if dup > 0 {
			t.Logf("%s: %d messages deposited more than once, each copy the same bytes", name, dup)
		}
	}

	// The trace of each provider verifies, and holds every event of
	// every message accepted.
	ids := map[string]string{} // identificativo (the envelope's Message-ID) → subject
	for subj, ms := range env {
		for _, m := range ms {
			ids[strings.Trim(m.ID, "<>")] = subj
		}
	}
	for _, p := range demoProviders {
		st, err := filestore.Open(context.Background(), filepath.Join(dir, p.ID, "trace"), &filestore.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := trace.Verify(context.Background(), st, &trace.VerifyOptions{Certificates: []*x509.Certificate{pki.Signers[p.ID].Certificate()}})
		if err != nil || !rep.OK() {
			t.Errorf("%s: trace does not verify: %v %v", p.ID, err, rep.Err())
		}
		events := map[string]map[trace.Event]map[string]bool{} // msgid → event → generated IDs
		st.Scan(context.Background(), 1, func(r *trace.Record) error {
			if events[r.MsgID] == nil {
				events[r.MsgID] = map[trace.Event]map[string]bool{}
			}
			if events[r.MsgID][r.Event] == nil {
				events[r.MsgID][r.Event] = map[string]bool{}
			}
			for _, g := range r.Generated {
				events[r.MsgID][r.Event][g] = true
			}
			return nil
		})
		st.Close()
		want := []trace.Event{trace.EventAcceptance, trace.EventTransport}
		if p.ID == "beta" {
			want = []trace.Event{trace.EventTakenInCharge, trace.EventDelivery}
		}
		for id, subj := range ids {
			for _, e := range want {
				gen, ok := events[id][e]
				if !ok {
					t.Errorf("%s trace: %q (%s): no %s", p.ID, subj, id, e)
				} else if len(gen) != 1 {
					t.Errorf("%s trace: %q (%s): %s of %d messages", p.ID, subj, id, e, len(gen))
				}
			}
		}
	}
}

// submitOnce submits one message from alice to bob.
func submitOnce(addr string, tlsConf *tls.Config, subject string) error {
	c, err := smtp.DialTLS(addr, tlsConf)
	if err != nil {
		return err
	}
	defer c.Close()
	c.CommandTimeout, c.SubmissionTimeout = 30*time.Second, 30*time.Second
	if err := c.Auth(sasl.NewPlainClient("", "alice@pec.alfa.test", "alice-demo")); err != nil {
		return err
	}
	msg := "From: alice@pec.alfa.test\r\nTo: bob@pec.beta.test\r\nSubject: " + subject +
		"\r\nDate: " + time.Now().Format(time.RFC1123Z) +
		"\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "." + strconv.FormatInt(time.Now().UnixNano(), 36) + "@client.test>" +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nprova\r\n"
	if err := c.SendMail("alice@pec.alfa.test", []string{"bob@pec.beta.test"}, strings.NewReader(msg)); err != nil {
		return err
	}
	return c.Quit()
}

// maildirMessage is the header of a message of a Maildir.
type maildirMessage struct {
	ID      string   // Message-ID
	Subject string   // the original's subject: the part after "PREFIX: "
	Receipt string   // X-Ricevuta
	Sum     [32]byte // SHA-256 of the file
}

// readMaildir reads the headers of the messages in a user's INBOX.
func readMaildir(t *testing.T, dir string) []maildirMessage {
	t.Helper()
	var out []maildirMessage
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			t.Fatal(err)
		}
		for _, e := range entries {
			raw, err := os.ReadFile(filepath.Join(dir, sub, e.Name()))
			if err != nil {
				continue // moved from new to cur meanwhile
			}
			m, err := mail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			subj := m.Header.Get("Subject")
			if _, rest, ok := strings.Cut(subj, ": "); ok {
				subj = rest
			}
			out = append(out, maildirMessage{ID: m.Header.Get("Message-ID"), Subject: subj, Receipt: m.Header.Get("X-Ricevuta"), Sum: sha256.Sum256(raw)})
		}
	}
	return out
}

// bySubject groups messages by subject, keeping those whose X-Ricevuta
// is receipt ("" keeps only those without one: envelopes).
func bySubject(ms []maildirMessage, receipt string) map[string][]maildirMessage {
	out := map[string][]maildirMessage{}
	for _, m := range ms {
		if m.Receipt == receipt {
			out[m.Subject] = append(out[m.Subject], m)
		}
	}
	return out
}

// distinct returns the distinct Message-IDs of ms.
func distinct(ms []maildirMessage) map[string]bool {
	out := map[string]bool{}
	for _, m := range ms {
		out[m.ID] = true
	}
	return out
}
