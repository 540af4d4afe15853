package web

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
)

// chromium returns the path of a headless-capable Chromium, skipping the
// test when there is none (failing it under CI=true).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found (required under CI=true)")
	}
	t.Skip("chromium not found: install Debian's chromium to run the browser test")
	return ""
}

// runChromium runs a headless Chromium with args and a profile of its own
// and returns its standard output.
func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
		"--disable-extensions", "--disable-sync", "--user-data-dir=" + t.TempDir()}
	if os.Geteuid() == 0 {
		base = append(base, "--no-sandbox") // Chromium refuses to run its sandbox as root
	}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errOut.String())
	}
	return out.Bytes()
}

// sink is an ordinary (non-PEC) SMTP server that takes every message.
type sink struct{}

func (sink) NewSession(*smtp.Conn) (smtp.Session, error) { return sink{}, nil }
func (sink) Mail(string, *smtp.MailOptions) error        { return nil }
func (sink) Rcpt(string, *smtp.RcptOptions) error        { return nil }
func (sink) Data(r io.Reader) error                      { _, err := io.Copy(io.Discard, r); return err }
func (sink) Reset()                                      {}
func (sink) Logout() error                               { return nil }

func endpoint(t *testing.T, addr string) client.Endpoint {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return client.Endpoint{Host: host, Port: p, Security: client.SecurityTLS}
}

// TestBrowser sends one message from alice to a certified recipient who
// gets it, a certified address that does not exist and an ordinary
// address, waits for the receipts, and looks at alice's timeline in a
// headless Chromium: its DOM and a screenshot.
func TestBrowser(t *testing.T) {
	bin := chromium(t)

	ordinary := smtp.NewServer(sink{})
	ordinary.Domain = "mx.ordinary.example"
	ol, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ordinary.Serve(ol)
	t.Cleanup(func() { ordinary.Close() })

	n := providertest.NewNetwork(t, &providertest.Options{Routes: map[string]string{"ordinary.example": ol.Addr().String()}})
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "alice-secret")
	bob := beta.AddUser("bob", "bob-secret")
	nobody := "nobody@" + beta.Domain
	carol := "carol@ordinary.example"

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := client.Send(ctx, &client.Draft{
		From: alice, To: []string{bob, nobody, carol}, Subject: "Contratto", Text: "In allegato il contratto.",
	}, &client.SubmitOptions{
		Server: endpoint(t, alpha.Submission), TLSConfig: n.ClientTLS(),
		Username: alice, Password: "alice-secret",
	}); err != nil {
		t.Fatal(err)
	}
	// The acceptance, bob's delivery receipt and nobody's non-delivery.
	for {
		msgs, err := alpha.Messages(alice, mailbox.Inbox)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) >= 3 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("alice has %d messages, want 3 receipts", len(msgs))
		}
		time.Sleep(50 * time.Millisecond)
	}

	srv := New(alpha.Store, alpha.Accounts, &Options{Verify: n.VerifyOptions(), LoginTokens: true})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		srv.Shutdown(sctx)
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Errorf("Serve: %v, want ErrClosed", err)
		}
	})
	base := "http://" + l.Addr().String()
	f := &fixture{}

	// A wrong password and a forged form are refused by the real server.
	c := f.browser(t)
	tok := token(t, c, base, "/login")
	if code, _ := post(t, c, base, "/login", url.Values{"csrf": {tok}, "user": {alice}, "password": {"wrong"}}); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", code)
	}
	if code, _ := post(t, c, base, "/login", url.Values{"user": {alice}, "password": {"alice-secret"}}); code != http.StatusForbidden {
		t.Errorf("login form without its token: %d, want 403", code)
	}
	login(t, c, base, alice, "alice-secret")
	if code, _ := post(t, c, base, "/logout", url.Values{"csrf": {"forged"}}); code != http.StatusForbidden {
		t.Errorf("forged logout: %d, want 403", code)
	}
	_, list, _ := get(t, c, base, "/?lang=en")
	m := regexp.MustCompile(`href="(/sent/\d+)\?lang=en"`).FindStringSubmatch(list)
	if m == nil {
		t.Fatalf("no sent message listed:\n%s", list)
	}
	page := m[1] + "?lang=en"
	for _, want := range []string{"delivered: 1", "not delivered: 1", "sent to ordinary mail (no delivery receipt): 1"} {
		if !strings.Contains(list, want) {
			t.Errorf("the list lacks the outcome %q", want)
		}
	}

	link := func() string {
		p, err := srv.LoginToken(alice, page)
		if err != nil {
			t.Fatal(err)
		}
		return base + p
	}
	dom := string(runChromium(t, bin, "--dump-dom", link()))
	states := map[string]string{}
	for _, m := range stateOf.FindAllStringSubmatch(dom, -1) {
		states[m[1]] = m[2]
	}
	for addr, want := range map[string]string{bob: "delivered", nobody: "not-delivered", carol: "sent-to-ordinary-mail"} {
		if states[addr] != want {
			t.Errorf("%s: %q in the browser's DOM, want %q", addr, states[addr], want)
		}
	}
	for _, text := range []string{"delivered", "not delivered", "sent to ordinary mail", "receipt (.eml)", "reason: <span class=\"reason\">no such mailbox ("} {
		if !strings.Contains(dom, text) {
			t.Errorf("the browser's DOM lacks %q", text)
		}
	}
	if t.Failed() {
		t.Fatalf("DOM:\n%s", dom)
	}

	shot := filepath.Join(t.TempDir(), "timeline.png")
	runChromium(t, bin, "--screenshot="+shot, "--window-size=1200,900", "--hide-scrollbars", link())
	fp, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer fp.Close()
	img, err := png.Decode(fp)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	b := img.Bounds()
	if b.Dx() < 600 || b.Dy() < 400 {
		t.Fatalf("screenshot %v, want about 1200×900", b)
	}
	colours := map[[4]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, bl, a}] = true
		}
	}
	if len(colours) < 8 {
		t.Fatalf("screenshot has %d colours: a blank page", len(colours))
	}
}
