package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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
// headless Chromium: its DOM, and a screenshot showing each recipient's
// state in its colour of style.css, in the order of the page. Chromium,
// driven over the DevTools protocol, also fills the forms: a wrong
// password and a login form with a forged token are refused, and so is a
// logout posted with a forged token by a page of another origin.
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

	// The same through Chromium's own forms: a wrong password, a login form
	// whose token is forged, then a right login, and a form on another
	// origin posting a logout with a forged token, all as a user's browser
	// sends them.
	t.Run("forms in Chromium", func(t *testing.T) { browserForms(t, bin, base, alice, "alice-secret") })

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

	// Each recipient's section has the left border of its state's colour
	// in style.css: the screenshot shows the three, top to bottom in the
	// order of the page.
	css, err := os.ReadFile(filepath.Join("assets", "style.css"))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, m := range stateOf.FindAllStringSubmatch(dom, -1) {
		order = append(order, m[1])
	}
	top := map[string]int{}
	for addr, class := range map[string]string{bob: "ok", nobody: "fail", carol: "info"} {
		m := regexp.MustCompile(`section\.` + class + ` \{ border-color: #([0-9a-f]{6}); \}`).FindSubmatch(css)
		if m == nil {
			t.Fatalf("style.css has no colour for section.%s", class)
		}
		want, _ := strconv.ParseUint(string(m[1]), 16, 32)
		y, ok := strip(img, uint8(want>>16), uint8(want>>8), uint8(want))
		if !ok {
			t.Errorf("screenshot: no border of #%s (%s, %s)", m[1], class, addr)
			continue
		}
		top[addr] = y
	}
	if len(top) == 3 {
		for i := 1; i < len(order); i++ {
			if top[order[i-1]] >= top[order[i]] {
				t.Errorf("screenshot: the border of %s at y=%d, not above that of %s at y=%d", order[i-1], top[order[i-1]], order[i], top[order[i]])
			}
		}
		t.Logf("screenshot %s: state borders at y %v", shot, top)
	}
}

// strip finds a section's left border in img: a column of at least 20
// pixels of the colour r, g, b, at most 10 pixels wide, and returns its
// top.
func strip(img image.Image, r, g, b uint8) (int, bool) {
	bd := img.Bounds()
	near := func(x, y int) bool {
		c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
		d := func(a, b uint8) bool { return a-b < 3 || b-a < 3 }
		return d(c.R, r) && d(c.G, g) && d(c.B, b)
	}
	for x := bd.Min.X; x < bd.Min.X+bd.Dx()/2; x++ {
		run := 0
		for y := bd.Min.Y; y < bd.Max.Y; y++ {
			if !near(x, y) {
				run = 0
				continue
			}
			if run++; run < 20 {
				continue
			}
			top := y - run + 1
			w := 0 // its width on the row of its top
			for xx := x; xx < bd.Max.X && near(xx, top); xx++ {
				w++
			}
			if w <= 10 {
				return top, true
			}
		}
	}
	return 0, false
}

// browserForms drives the login and logout forms in Chromium.
func browserForms(t *testing.T, bin, base, user, password string) {
	b := startCDP(t, bin)
	b.navigate(base + "/login?lang=en")
	b.fillLogin("wrong password", user, "wrong", "")
	if s := b.state(); s.Status != http.StatusUnauthorized || !s.Alert || s.Path != "/login" {
		t.Errorf("wrong password in Chromium: %d at %s, alert %v, want 401 at /login with the alert", s.Status, s.Path, s.Alert)
	}
	b.fillLogin("forged login form", user, password, "forged")
	if s := b.state(); s.Status != http.StatusForbidden || !strings.Contains(s.Text, "form token missing or wrong") {
		t.Errorf("login form with a forged token in Chromium: %d: %.200q, want 403", s.Status, s.Text)
	}
	b.navigate(base + "/?lang=en")
	if s := b.state(); s.Path != "/login" {
		t.Errorf("after the refused logins Chromium is at %s, want /login: %.200q", s.Path, s.Text)
	}
	b.fillLogin("login", user, password, "")
	if s := b.state(); s.Status != http.StatusOK || s.Path != "/" || !strings.Contains(s.Text, "Contratto") {
		t.Fatalf("login in Chromium: %d at %s: %.300q", s.Status, s.Path, s.Text)
	}

	// A page of another origin (another port of 127.0.0.1: the same site,
	// so the session cookie goes along) posting a logout.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>x</title><form method="post" action="%s/logout"><input type="hidden" name="csrf" value="forged"></form>`, base)
	}))
	defer evil.Close()
	b.navigate(evil.URL)
	b.submit("forged logout", `document.forms[0].submit(), true`)
	if s := b.state(); s.Status != http.StatusForbidden || s.Path != "/logout" || !strings.Contains(s.Text, "form token missing or wrong") {
		t.Errorf("forged logout in Chromium: %d at %s: %.200q, want 403", s.Status, s.Path, s.Text)
	}
	b.navigate(base + "/?lang=en")
	if s := b.state(); s.Status != http.StatusOK || s.Path != "/" || !strings.Contains(s.Text, "Contratto") {
		t.Errorf("after the forged logout Chromium is at %s (%d), want still logged in: %.200q", s.Path, s.Status, s.Text)
	}
	// The page's own logout form, with its token, works.
	b.submit("logout", `document.querySelector('form[action^="/logout"]').submit(), true`)
	if s := b.state(); s.Path != "/login" {
		t.Errorf("logout in Chromium: at %s, want /login", s.Path)
	}
}
