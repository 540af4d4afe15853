package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/internal/dovecottest"
	"github.com/pecsdk/pec/internal/testenv"
)

// TestSameMailbox: pecd deposits four certified messages in holder's
// Maildir; over pecd's IMAP one is marked \Seen, one \Flagged, one
// deleted and expunged. Then curl over pecd's IMAPS and POP3S, fetchmail
// pulling the whole mailbox over POP3S, the SDK's client over IMAP, and a
// private Dovecot serving the same Maildir all see the same three
// messages, byte for byte (SHA-256, fetchmail's Received header aside),
// and pecd's IMAP (read by go-imap and by curl) and Dovecot's report the
// same flags for each; a flag Dovecot sets is seen over pecd's IMAP.
func TestSameMailbox(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	swaks := needSwaks(t)
	needTool(t, "curl", "curl")
	fetchmail := testenv.Tool(t, "fetchmail")
	const (
		holder     = "holder@pec.alfa.test"
		holderPW   = "holder-pecd"
		dovecotPW  = "holder-dovecot"
		alice      = "alice@pec.alfa.test"
		alicePW    = "alice-pecd"
		nMessages  = 4
		subjPrefix = "stessa casella "
	)
	dir := t.TempDir()
	startTestDemo(t, dir) // its PKI and alfa.conf
	ca := filepath.Join(dir, demoCA)
	dc := dovecottest.Start(t, &dovecottest.Options{Users: map[string]string{holder: dovecotPW}})

	// pecd, as alfa alone, with its Maildirs where Dovecot looks for them
	// (mail_location = maildir:<root>/%u).
	state := t.TempDir()
	accounts := filepath.Join(state, "accounts")
	lines := accountLine(alice, alicePW, demoHashIterations) + "\n" + accountLine(holder, holderPW, demoHashIterations) + "\n" +
		"posta-certificata@pec.alfa.test !\n"
	if err := os.WriteFile(accounts, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(filepath.Join(dir, "alfa.conf"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = ListenConfig{Hostname: "pec.alfa.test", Submission: "127.0.0.1:0", Incoming: "127.0.0.1:0",
		IMAP: "127.0.0.1:0", POP3: "127.0.0.1:0"}
	cfg.Storage.Mailbox, cfg.Storage.Maildir = DefaultMailbox, filepath.Dir(dc.Maildir(holder))
	cfg.Storage.Spool, cfg.Storage.Trace = filepath.Join(state, "spool"), filepath.Join(state, "trace")
	cfg.Index.State, cfg.Index.Publish = filepath.Join(state, "index.state"), ""
	cfg.Accounts.File = accounts
	cfg.Limits.MailboxQuota = 0
	var b strings.Builder
	if err := WriteConfig(&b, cfg); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(state, "pecd.conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if cfg, err = LoadConfig(path); err != nil {
		t.Fatal(err)
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
	imapAddr, pop3Addr := n.addr("imap"), n.addr("pop3")
	pool, err := dovecottest.PoolFromPEM(ca)
	if err != nil {
		t.Fatal(err)
	}
	ourTLS := dovecottest.ClientConfigFor(pool)

	for i := range nMessages {
		if out, err := runSwaks(t, swaks, "--server", n.addr("submission"), "--tls-on-connect", "--tls-verify",
			"--tls-ca-path", ca, "--auth", "PLAIN", "--auth-user", alice, "--auth-password", alicePW,
			"--from", alice, "--to", holder, "--header", fmt.Sprintf("Subject: %s%d", subjPrefix, i+1),
			"--body", fmt.Sprintf("Messaggio %d, letto da tutti.\n", i+1)); err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
	}
	// The envelopes, in UID order.
	var uids []goimap.UID
	deadline := time.Now().Add(30 * time.Second)
	for {
		uids = nil
		for _, m := range imapSnapshot(t, imapAddr, ourTLS, holder, holderPW, false) {
			uids = append(uids, m.uid)
		}
		if len(uids) >= nMessages {
			break
		}
		if time.Now().After(deadline) {
			out, _ := exec.Command("find", filepath.Dir(dc.Maildir(holder)), "-type", "f").CombinedOutput()
			t.Fatalf("%d envelopes in holder's INBOX after 30s, want %d\n%s", len(uids), nMessages, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(uids) != nMessages {
		t.Fatalf("%d messages in holder's INBOX, want %d", len(uids), nMessages)
	}

	// Flags set over pecd's IMAP: \Seen, \Flagged, and one deleted for good.
	func() {
		c := dialIMAP(t, imapAddr, ourTLS, holder, holderPW)
		defer c.Logout()
		for _, s := range []struct {
			uid  goimap.UID
			flag goimap.Flag
		}{{uids[0], goimap.FlagSeen}, {uids[1], goimap.FlagFlagged}, {uids[3], goimap.FlagDeleted}} {
			if err := c.Store(goimap.UIDSetNum(s.uid), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{s.flag}, Silent: true}, nil).Close(); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Expunge().Close(); err != nil {
			t.Fatal(err)
		}
	}()
	uids = uids[:3]
	want := map[goimap.UID]string{uids[0]: `\Seen`, uids[1]: `\Flagged`, uids[2]: ""}

	// Dovecot serves mail as another user than the tests' root: give it
	// the folders pecd wrote, as an operator runs both as one user.
	own := func() {
		t.Helper()
		if err := dc.Own(holder); err != nil {
			t.Fatal(err)
		}
	}
	own()
	dcTLS := dc.TLS.ClientConfig()
	sameFlags := func(t *testing.T, want map[goimap.UID]string) {
		t.Helper()
		ours := flagsOf(imapSnapshot(t, imapAddr, ourTLS, holder, holderPW, false))
		byCurl := curlFlags(t, ca, imapAddr, holder, holderPW)
		theirs := flagsOf(imapSnapshot(t, dc.IMAPS, dcTLS, holder, dovecotPW, false))
		for name, got := range map[string]map[goimap.UID]string{"pecd IMAP": ours, "curl over pecd IMAP": byCurl, "Dovecot IMAP": theirs} {
			if want != nil && !maps.Equal(got, want) {
				t.Errorf("%s: flags %v, want %v", name, got, want)
			}
			if !maps.Equal(got, ours) {
				t.Errorf("%s: flags %v, pecd IMAP %v", name, got, ours)
			}
		}
	}
	t.Run("flags", func(t *testing.T) { sameFlags(t, want) })

	// A flag set through Dovecot is seen over pecd's IMAP.
	t.Run("flag set by Dovecot", func(t *testing.T) {
		c := dialIMAP(t, dc.IMAPS, dcTLS, holder, dovecotPW)
		if err := c.Store(goimap.UIDSetNum(uids[2]), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagAnswered}, Silent: true}, nil).Close(); err != nil {
			t.Fatal(err)
		}
		c.Logout().Wait()
		want[uids[2]] = `\Answered`
		sameFlags(t, want)
	})

	// The bodies, as Dovecot serves them: the reference.
	var ref []string
	refByUID := map[goimap.UID]string{}
	for _, m := range imapSnapshot(t, dc.IMAPS, dcTLS, holder, dovecotPW, true) {
		ref = append(ref, m.sum)
		refByUID[m.uid] = m.sum
	}
	slices.Sort(ref)
	if len(ref) != 3 {
		t.Fatalf("Dovecot serves %d messages, want 3", len(ref))
	}
	same := func(t *testing.T, who string, got []string) {
		t.Helper()
		slices.Sort(got)
		if !slices.Equal(got, ref) {
			t.Errorf("%s: %d messages %v, Dovecot %v", who, len(got), got, ref)
		}
	}

	t.Run("pecd IMAP", func(t *testing.T) {
		var got []string
		for _, m := range imapSnapshot(t, imapAddr, ourTLS, holder, holderPW, true) {
			got = append(got, m.sum)
			if refByUID[m.uid] != m.sum {
				t.Errorf("UID %d: pecd serves %s, Dovecot %s", m.uid, m.sum, refByUID[m.uid])
			}
		}
		same(t, "pecd IMAP", got)
	})

	t.Run("SDK client", func(t *testing.T) {
		host, port := splitHostPort(t, imapAddr)
		res, err := client.Fetch(context.Background(), &client.FetchOptions{
			Protocol: client.IMAP, Server: client.Endpoint{Host: host, Port: port, Security: client.SecurityTLS},
			TLSConfig: ourTLS, Username: holder, Password: holderPW, Dir: t.TempDir(), Timeout: 20 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range res.Messages {
			if m.Err != nil {
				t.Errorf("client: %s: %v", m.UID, m.Err)
			}
			data, err := os.ReadFile(m.Path)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, sum(data))
		}
		same(t, "client.Fetch over IMAP", got)
	})

	t.Run("fetchmail over POP3S", func(t *testing.T) {
		got := fetchmailAll(t, fetchmail, ca, pop3Addr, holder, holderPW)
		same(t, "fetchmail", got)
	})

	t.Run("curl over POP3S", func(t *testing.T) {
		var got []string
		for _, m := range pop3FetchAll(t, ca, pop3Addr, holder, holderPW) {
			got = append(got, sum(m.Raw))
		}
		same(t, "curl pop3s", got)
	})

	t.Run("curl over IMAPS", func(t *testing.T) {
		var got []string
		for _, m := range imapFetchAll(t, ca, imapAddr, holder, holderPW) {
			got = append(got, sum(m.Raw))
		}
		same(t, "curl imaps", got)
	})

	// Reading with BODY[] (curl) marks messages \Seen; POP3 and the peeks
	// of the others do not change flags. Both servers agree afterwards too,
	// and Dovecot still has every message.
	t.Run("flags after reading", func(t *testing.T) {
		own()
		for _, u := range uids {
			if !strings.Contains(want[u], `\Seen`) {
				want[u] = strings.TrimSpace(want[u] + ` \Seen`)
			}
			f := strings.Fields(want[u])
			slices.Sort(f)
			want[u] = strings.Join(f, " ")
		}
		sameFlags(t, want)
		var got []string
		for _, m := range imapSnapshot(t, dc.IMAPS, dcTLS, holder, dovecotPW, true) {
			got = append(got, m.sum)
		}
		same(t, "Dovecot after the others", got)
	})
}

// snapMessage is one message as an IMAP server reports it.
type snapMessage struct {
	uid   goimap.UID
	flags string // sorted, \Recent left out
	sum   string // SHA-256 of BODY.PEEK[], when asked for
}

// dialIMAP logs in over implicit TLS and selects INBOX.
func dialIMAP(t *testing.T, addr string, conf *tls.Config, user, password string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialTLS(addr, &imapclient.Options{TLSConfig: conf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, password).Wait(); err != nil {
		t.Fatalf("%s: login: %v", addr, err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("%s: select: %v", addr, err)
	}
	return c
}

// imapSnapshot lists INBOX at addr: UIDs, flags and, with bodies, the
// SHA-256 of each message, peeked (no flag changes).
func imapSnapshot(t *testing.T, addr string, conf *tls.Config, user, password string, bodies bool) []snapMessage {
	t.Helper()
	c := dialIMAP(t, addr, conf, user, password)
	defer c.Logout()
	sel, err := c.Select("INBOX", &goimap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	opts := &goimap.FetchOptions{UID: true, Flags: true}
	if bodies {
		opts.BodySection = []*goimap.FetchItemBodySection{{Peek: true}}
	}
	msgs, err := c.Fetch(goimap.SeqSet{{Start: 1, Stop: sel.NumMessages}}, opts).Collect()
	if err != nil {
		t.Fatalf("%s: fetch: %v", addr, err)
	}
	var out []snapMessage
	for _, m := range msgs {
		var f []string
		for _, x := range m.Flags {
			if !strings.EqualFold(string(x), `\Recent`) {
				f = append(f, string(x))
			}
		}
		slices.Sort(f)
		s := snapMessage{uid: m.UID, flags: strings.Join(f, " ")}
		if bodies {
			if len(m.BodySection) != 1 {
				t.Fatalf("%s: UID %d: %d body sections", addr, m.UID, len(m.BodySection))
			}
			s.sum = sum(m.BodySection[0].Bytes)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b snapMessage) int { return int(a.uid) - int(b.uid) })
	return out
}

// flagsOf maps each UID to its flags.
func flagsOf(ms []snapMessage) map[goimap.UID]string {
	out := map[goimap.UID]string{}
	for _, m := range ms {
		out[m.uid] = m.flags
	}
	return out
}

var fetchFlagsLine = regexp.MustCompile(`(?i)^\* \d+ FETCH \((.*)\)\s*$`)
var (
	fetchUID   = regexp.MustCompile(`(?i)\bUID (\d+)`)
	fetchFlags = regexp.MustCompile(`(?i)\bFLAGS \(([^)]*)\)`)
)

// curlFlags asks for every message's flags with curl's custom command.
func curlFlags(t *testing.T, ca, addr, user, password string) map[goimap.UID]string {
	t.Helper()
	out, err := curl(t, ca, "--user", user+":"+password, "imaps://"+addr+"/INBOX", "-X", "UID FETCH 1:* (FLAGS)")
	if err != nil {
		t.Fatal(err)
	}
	got := map[goimap.UID]string{}
	for _, line := range strings.Split(string(out), "\n") {
		m := fetchFlagsLine.FindStringSubmatch(strings.TrimRight(line, "\r"))
		if m == nil {
			continue
		}
		u, fl := fetchUID.FindStringSubmatch(m[1]), fetchFlags.FindStringSubmatch(m[1])
		if u == nil || fl == nil {
			t.Fatalf("curl: FETCH response without UID or FLAGS: %q", line)
		}
		n, _ := strconv.ParseUint(u[1], 10, 32)
		var f []string
		for _, x := range strings.Fields(fl[1]) {
			if !strings.EqualFold(x, `\Recent`) {
				f = append(f, x)
			}
		}
		slices.Sort(f)
		got[goimap.UID(n)] = strings.Join(f, " ")
	}
	return got
}

// fetchmailAll pulls the whole mailbox with fetchmail over POP3S, keeping
// it on the server, each message to its own file, and returns the
// SHA-256 of each as the server sent it (fetchmail's Received header
// taken off, CRLF line ends put back).
func fetchmailAll(t *testing.T, fetchmail, ca, addr, user, password string) []string {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	host, port := splitHostPort(t, addr)
	// fetchmail checks the certificate's DNS names only: the demo's
	// server certificate names localhost beside 127.0.0.1.
	rc := fmt.Sprintf(`set no syslog
set pidfile %q
set idfile %q
poll %s service %d proto POP3 auth password timeout 20
	user %q there with password %q is "holder" here
	options ssl sslcertck sslcertfile %q sslcommonname "localhost" keep fetchall no rewrite no mimedecode stripcr
	mda "cat > %s/msg.$$"
`, filepath.Join(dir, "fetchmail.pid"), filepath.Join(dir, "fetchids"), host, port, user, password, ca, out)
	rcfile := filepath.Join(dir, "fetchmailrc")
	if err := os.WriteFile(rcfile, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, fetchmail, "-f", rcfile, "--nodetach", "-v")
	cmd.Env = append(os.Environ(), "HOME="+dir, "FETCHMAILHOME="+dir)
	if log, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fetchmail: %v\n%s", err, log)
	}
	files, err := filepath.Glob(filepath.Join(out, "msg.*"))
	if err != nil {
		t.Fatal(err)
	}
	var sums []string
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		body, ok := strings.CutPrefix(string(data), "Received: ")
		if !ok {
			t.Fatalf("%s: no Received header first: %.80q", filepath.Base(p), data)
		}
		for {
			i := strings.IndexByte(body, '\n')
			if i < 0 {
				t.Fatalf("%s: unterminated header", filepath.Base(p))
			}
			body = body[i+1:]
			if body == "" || (body[0] != ' ' && body[0] != '\t') {
				break
			}
		}
		sums = append(sums, sum([]byte(strings.ReplaceAll(body, "\n", "\r\n"))))
	}
	return sums
}

// splitHostPort splits a numeric host:port.
func splitHostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}

// sum is the SHA-256 of data in hex, shortened for messages.
func sum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:12])
}
