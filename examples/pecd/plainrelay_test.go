package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/pecsdk/pec/provider/mailbox"
)

// plainTestTLS returns a server configuration with a self-signed
// certificate for 127.0.0.1, and a pool that trusts it.
func plainTestTLS(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}, pool
}

// flakyStore is a mailbox.Store whose mailbox of a user in fail cannot
// be opened, the next n times (n > 0) or always (n < 0).
type flakyStore struct {
	mailbox.Store
	mu   sync.Mutex
	fail map[string]int
}

var errFlaky = errors.New("disk on fire")

func (f *flakyStore) Mailbox(ctx context.Context, user string) (mailbox.Mailbox, error) {
	f.mu.Lock()
	n := f.fail[user]
	if n > 0 {
		f.fail[user]--
	}
	f.mu.Unlock()
	if n != 0 {
		return nil, errFlaky
	}
	return f.Store.Mailbox(ctx, user)
}

func (f *flakyStore) set(user string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[user] = n
}

// plainTest is the demo's ordinary mail server for mail.test, with carol
// and dave, quick to retry, on a store that can be made to fail.
type plainTest struct {
	*plainMail
	pool  *x509.CertPool
	store *flakyStore
}

func startPlainTest(t *testing.T, routes map[string]string) *plainTest {
	t.Helper()
	users, err := parseAccounts(strings.NewReader(
		accountLine("carol@mail.test", "carol-demo", demoHashIterations) + "\n" +
			accountLine("dave@mail.test", "dave-demo", demoHashIterations) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv, pool := plainTestTLS(t)
	m, err := newPlainMail("mail.test", "127.0.0.1:0", "127.0.0.1:0", t.TempDir(), users, routes, pool, srv, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	fs := &flakyStore{Store: m.store, fail: map[string]int{}}
	m.store = fs
	m.retryDelays = []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}
	m.serve()
	t.Cleanup(func() { m.Close() })
	return &plainTest{m, pool, fs}
}

// submit sends msg from carol, authenticated over STARTTLS, to rcpts,
// and returns the first error.
func (p *plainTest) submit(t *testing.T, subject string, rcpts ...string) error {
	t.Helper()
	c, err := smtp.DialStartTLS(p.SMTPAddr, &tls.Config{RootCAs: p.pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "carol@mail.test", "carol-demo")); err != nil {
		t.Fatal(err)
	}
	msg := "From: carol@mail.test\r\nTo: " + strings.Join(rcpts, ", ") + "\r\nSubject: " + subject + "\r\n\r\nUna prova.\r\n"
	return c.SendMail("carol@mail.test", rcpts, strings.NewReader(msg))
}

// inbox returns the messages in user's INBOX.
func (p *plainTest) inbox(t *testing.T, user string) [][]byte {
	t.Helper()
	ctx := context.Background()
	mb, err := p.store.Store.Mailbox(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := mb.List(ctx, mailbox.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, m := range fd.Messages {
		r, err := mb.Open(ctx, mailbox.Inbox, m.UID)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// bounces returns the bounces in carol's INBOX.
func (p *plainTest) bounces(t *testing.T) [][]byte {
	t.Helper()
	var out [][]byte
	for _, b := range p.inbox(t, "carol@mail.test") {
		if bytes.Contains(b, []byte("From: Mail Delivery System")) {
			out = append(out, b)
		}
	}
	return out
}

// nextHop is another domain's SMTP server (no STARTTLS): rcpt decides
// each RCPT TO; what it takes is kept.
type nextHop struct {
	addr  string
	mu    sync.Mutex
	rcpt  func(to string, n int) error // n: the RCPT TOs so far for to, this one included
	calls map[string]int
	got   [][]string // the recipients of each message taken
}

func startNextHop(t *testing.T, rcpt func(to string, n int) error) *nextHop {
	t.Helper()
	h := &nextHop{rcpt: rcpt, calls: map[string]int{}}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &hopSession{h: h}, nil }))
	s.Domain = "hop.test"
	s.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = l.Addr().String()
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return h
}

func (h *nextHop) taken() [][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]string(nil), h.got...)
}

func (h *nextHop) tries(rcpt string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[rcpt]
}

type hopSession struct {
	h     *nextHop
	rcpts []string
}

func (s *hopSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *hopSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.h.mu.Lock()
	s.h.calls[to]++
	n := s.h.calls[to]
	s.h.mu.Unlock()
	if s.h.rcpt != nil {
		if err := s.h.rcpt(to, n); err != nil {
			return err
		}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}
func (s *hopSession) Data(r io.Reader) error {
	if _, err := io.ReadAll(r); err != nil {
		return err
	}
	s.h.mu.Lock()
	s.h.got = append(s.h.got, s.rcpts)
	s.h.mu.Unlock()
	return nil
}
func (s *hopSession) Reset()        { s.rcpts = nil }
func (s *hopSession) Logout() error { return nil }

// smtpCode returns the reply code and enhanced code of err, "" if none.
func smtpCode(err error) string {
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		return ""
	}
	return fmt.Sprintf("%d %d.%d.%d", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
}

var (
	refuseOrdinary = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "accepts certified mail only"}
	busy           = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "mailbox busy"}
)

// TestPlainDepositFirst: a local deposit that cannot be written when
// nothing else was is a 451 before anything is relayed, so that the
// client's next attempt makes no duplicate at the other domain.
func TestPlainDepositFirst(t *testing.T) {
	hop := startNextHop(t, nil)
	p := startPlainTest(t, map[string]string{"pec.beta.test": hop.addr})
	p.store.set("dave@mail.test", -1)
	err := p.submit(t, "prima", "dave@mail.test", "bob@pec.beta.test")
	if smtpCode(err) != "451 4.3.0" {
		t.Fatalf("deposit failing: %v, want 451 4.3.0", err)
	}
	if got := hop.taken(); len(got) != 0 {
		t.Fatalf("relayed %v although the client was told to try again", got)
	}
	p.store.set("dave@mail.test", 0)
	if err := p.submit(t, "prima", "dave@mail.test", "bob@pec.beta.test"); err != nil {
		t.Fatal(err)
	}
	if got := hop.taken(); len(got) != 1 {
		t.Fatalf("relayed %v, want once", got)
	}
	if n := len(p.inbox(t, "dave@mail.test")); n != 1 {
		t.Fatalf("%d messages for dave, want 1", n)
	}
}

// TestPlainDepositRetried: a local deposit that fails for now, when
// another was written, is tried again; when it still fails it comes back
// failed, and only it.
func TestPlainDepositRetried(t *testing.T) {
	p := startPlainTest(t, map[string]string{})
	p.store.set("dave@mail.test", 2)
	if err := p.submit(t, "riprova", "carol@mail.test", "dave@mail.test"); err != nil {
		t.Fatal(err)
	}
	if n := len(p.inbox(t, "dave@mail.test")); n != 1 {
		t.Fatalf("%d messages for dave, want 1", n)
	}
	if b := p.bounces(t); len(b) != 0 {
		t.Fatalf("bounced what was deposited at the third attempt:\n%s", b[0])
	}
	p.store.set("dave@mail.test", -1)
	if err := p.submit(t, "mai", "carol@mail.test", "dave@mail.test"); err != nil {
		t.Fatal(err)
	}
	b := p.bounces(t)
	if len(b) != 1 {
		t.Fatalf("%d bounces, want 1", len(b))
	}
	raw := string(b[0])
	for _, want := range []string{"Final-Recipient: rfc822; dave@mail.test\r\nAction: failed\r\nStatus: 5.4.7\r\n\r\n", "disk on fire"} {
		if !strings.Contains(raw, want) {
			t.Errorf("the bounce lacks %q:\n%s", want, raw)
		}
	}
	if strings.Contains(raw, "rfc822; carol@") || strings.Contains(raw, "Diagnostic-Code") {
		t.Errorf("the bounce names carol, or a Diagnostic-Code:\n%s", raw)
	}
}

// TestPlainBounceLost: a refused relay whose bounce cannot be written
// either went nowhere: 451, not 250.
func TestPlainBounceLost(t *testing.T) {
	hop := startNextHop(t, func(string, int) error { return refuseOrdinary })
	p := startPlainTest(t, map[string]string{"pec.beta.test": hop.addr})
	p.store.set("carol@mail.test", -1)
	if err := p.submit(t, "nessuno", "ufficio@pec.beta.test"); smtpCode(err) != "451 4.3.0" {
		t.Fatalf("bounce failing: %v, want 451 4.3.0", err)
	}
	p.store.set("carol@mail.test", 0)
	if err := p.submit(t, "nessuno", "ufficio@pec.beta.test"); err != nil {
		t.Fatal(err)
	}
	b := p.bounces(t)
	if len(b) != 1 {
		t.Fatalf("%d bounces, want 1", len(b))
	}
	for _, want := range []string{"Action: failed", "Status: 5.7.1", "Diagnostic-Code: smtp; 550 5.7.1 accepts certified mail only"} {
		if !bytes.Contains(b[0], []byte(want)) {
			t.Errorf("the bounce lacks %q:\n%s", want, b[0])
		}
	}
}

// TestPlainTemporaryFailures: what fails for now is tried again; what
// still fails is bounced as failed with 5.4.7, with the remote reply as
// Diagnostic-Code only when there was one; and when nothing went
// anywhere the client is told to try again instead.
func TestPlainTemporaryFailures(t *testing.T) {
	hop := startNextHop(t, func(to string, n int) error {
		switch {
		case strings.HasPrefix(to, "busy@"):
			return busy
		case strings.HasPrefix(to, "later@") && n == 1:
			return busy
		}
		return nil
	})
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead.Close() // nothing listens there any more
	p := startPlainTest(t, map[string]string{"pec.beta.test": hop.addr, "dead.test": dead.Addr().String()})

	// Taken at the second attempt: no bounce.
	if err := p.submit(t, "dopo", "later@pec.beta.test"); err != nil {
		t.Fatal(err)
	}
	if got := hop.taken(); len(got) != 1 || hop.tries("later@pec.beta.test") != 2 {
		t.Fatalf("relayed %v in %d tries, want once in 2", got, hop.tries("later@pec.beta.test"))
	}

	// Nothing went anywhere: 451, and no bounce.
	if err := p.submit(t, "mai", "busy@pec.beta.test", "x@dead.test"); smtpCode(err) != "451 4.4.0" {
		t.Fatalf("every relay failing for now: %v, want 451 4.4.0", err)
	}
	if n := hop.tries("busy@pec.beta.test"); n != 3 {
		t.Fatalf("%d tries, want 3", n)
	}
	if b := p.bounces(t); len(b) != 0 {
		t.Fatalf("bounced what the client keeps:\n%s", b[0])
	}

	// Deposited for dave: the others come back failed.
	if err := p.submit(t, "in parte", "dave@mail.test", "busy@pec.beta.test", "x@dead.test"); err != nil {
		t.Fatal(err)
	}
	b := p.bounces(t)
	if len(b) != 1 {
		t.Fatalf("%d bounces, want 1", len(b))
	}
	raw := string(b[0])
	for _, want := range []string{
		"Final-Recipient: rfc822; busy@pec.beta.test\r\nAction: failed\r\nStatus: 5.4.7\r\nDiagnostic-Code: smtp; 451 4.2.0 mailbox busy\r\n",
		"Final-Recipient: rfc822; x@dead.test\r\nAction: failed\r\nStatus: 5.4.7\r\n\r\n",
		"connection refused",
	} {
		if !strings.Contains(raw, want) {
			t.Errorf("the bounce lacks %q:\n%s", want, raw)
		}
	}
	if strings.Contains(raw, "Status: 4.") || strings.Count(raw, "Diagnostic-Code:") != 1 {
		t.Errorf("a 4.x.x status, or a Diagnostic-Code for no remote reply:\n%s", raw)
	}
	if strings.Contains(raw, "<dave@mail.test>") || strings.Contains(raw, "rfc822; dave@") {
		t.Errorf("the bounce names dave, who got the message:\n%s", raw)
	}
}

// TestPlainRcptNoRoute: a domain without a route is refused at RCPT.
func TestPlainRcptNoRoute(t *testing.T) {
	p := startPlainTest(t, map[string]string{})
	if err := p.submit(t, "dove", "a@nowhere.test"); smtpCode(err) != "550 5.1.2" {
		t.Fatalf("no route: %v, want 550 5.1.2 at RCPT", err)
	}
	if b := p.bounces(t); len(b) != 0 {
		t.Fatalf("bounced what RCPT refused:\n%s", b[0])
	}
}

// TestPlainCloseStopsRelays: Close cancels a relay under way and waits
// for it: nothing of a session is left running.
func TestPlainCloseStopsRelays(t *testing.T) {
	stall, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stall.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := stall.Accept() // and never a greeting
		if err == nil {
			accepted <- c
		}
	}()
	p := startPlainTest(t, map[string]string{"slow.test": stall.Addr().String()})
	sent := make(chan error, 1)
	go func() {
		c, err := smtp.DialStartTLS(p.SMTPAddr, &tls.Config{RootCAs: p.pool, ServerName: "127.0.0.1"})
		if err != nil {
			sent <- err
			return
		}
		defer c.Close()
		if err := c.Auth(sasl.NewPlainClient("", "carol@mail.test", "carol-demo")); err != nil {
			sent <- err
			return
		}
		sent <- c.SendMail("carol@mail.test", []string{"z@slow.test"}, strings.NewReader("Subject: lento\r\n\r\nx\r\n"))
	}()
	var conn net.Conn
	select {
	case conn = <-accepted:
		defer conn.Close()
	case err := <-sent:
		t.Fatalf("no relay under way: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no relay under way")
	}
	start := time.Now()
	p.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v", d)
	}
	// The relay's connection is closed by the time Close returns.
	conn.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := conn.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the relay's connection after Close: %v, want EOF", err)
	}
	if err := <-sent; err == nil {
		t.Fatal("250 for a message that went nowhere")
	}
}

// TestPlainHeaderOf: the header returned in a bounce is bounded.
func TestPlainHeaderOf(t *testing.T) {
	var msg strings.Builder
	msg.WriteString("Subject: grande\r\n")
	for i := range 5000 {
		fmt.Fprintf(&msg, "X-Filler-%d: %s\r\n", i, strings.Repeat("x", 60))
	}
	msg.WriteString("\r\nbody\r\n")
	h := headerOf([]byte(msg.String()))
	if len(h) > maxBounceHeader || !bytes.HasPrefix(h, []byte("Subject: grande\r\n")) || !bytes.HasSuffix(h, []byte("\r\n")) {
		t.Fatalf("header of %d bytes, starting %.40q, ending %q", len(h), h, h[max(0, len(h)-20):])
	}
	if h := headerOf([]byte("Subject: breve\r\n\r\nbody")); string(h) != "Subject: breve\r\n" {
		t.Fatalf("header %q", h)
	}
}

// TestPlainDSNStatus: Action: failed always carries a 5.x.x Status; a
// Diagnostic-Code only for a reply of another server.
func TestPlainDSNStatus(t *testing.T) {
	for _, c := range []struct {
		err          error
		status, diag string
	}{
		{refuseOrdinary, "5.7.1", "550 5.7.1 accepts certified mail only"},
		{&smtp.SMTPError{Code: 554, Message: "no\nthanks"}, "5.0.0", "554 no thanks"},
		{&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{4, 1, 1}, Message: "odd"}, "5.0.0", "550 4.1.1 odd"},
		{busy, "5.4.7", "451 4.2.0 mailbox busy"},
		{errors.New("dial tcp: connection refused"), "5.4.7", ""},
		{context.DeadlineExceeded, "5.4.7", ""},
		{errNoRoute, "5.1.2", ""},
		{fmt.Errorf("deposit: %w", mailbox.ErrQuota), "5.2.2", ""},
	} {
		status, diag, text := dsnStatus(c.err)
		if status != c.status || diag != c.diag || text == "" || strings.ContainsAny(text, "\r\n") {
			t.Errorf("%v: %q %q %q, want %q %q", c.err, status, diag, text, c.status, c.diag)
		}
	}
}
