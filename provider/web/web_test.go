package web

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/sample"
)

func TestLogin(t *testing.T) {
	throttle := &mailbox.Throttle{Base: 150 * time.Millisecond, Max: 2 * time.Second}
	f := newFixture(t, &Options{Throttle: throttle})
	base := f.http.URL
	c := f.browser(t)

	code, _, h := get(t, c, base, "/")
	if code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
		t.Fatalf("/ without a session: %d to %q, want a redirect to /login", code, h.Get("Location"))
	}
	for i, want := range []time.Duration{0, 300 * time.Millisecond} { // the first failure is paid by the next attempt
		tok := token(t, c, base, "/login")
		start := time.Now()
		code, body := post(t, c, base, "/login", url.Values{"csrf": {tok}, "user": {sample.Alice}, "password": {"wrong"}})
		took := time.Since(start)
		if code != http.StatusUnauthorized || !strings.Contains(body, "role=\"alert\"") {
			t.Fatalf("wrong password %d: %d\n%s", i, code, body)
		}
		if took < want {
			t.Errorf("wrong password %d answered in %v, want the throttle's %v at least", i, took, want)
		}
		if code, _, _ := get(t, c, base, "/"); code != http.StatusSeeOther {
			t.Fatalf("a wrong password opened a session: / gave %d", code)
		}
	}
	login(t, c, base, sample.Alice, alicePass)
	code, body, h := get(t, c, base, "/")
	if code != http.StatusOK || !strings.Contains(body, sample.Alice) {
		t.Fatalf("/ after login: %d\n%s", code, body)
	}
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "style=") {
		t.Errorf("page has inline script or style")
	}

	// The session cookie's attributes, as the login response sets it.
	c2 := f.browser(t)
	tok := token(t, c2, base, "/login")
	resp, err := c2.PostForm(base+"/login", url.Values{"csrf": {tok}, "user": {sample.Alice}, "password": {alicePass}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var found bool
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie && ck.MaxAge >= 0 {
			found = true
			if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || len(ck.Value) < 40 {
				t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict and a long random value", ck)
			}
		}
	}
	if !found {
		t.Error("no session cookie set at login")
	}
}

func TestForms(t *testing.T) {
	f := newFixture(t, nil)
	base := f.http.URL
	other := f.browser(t)
	login(t, other, base, sample.Bob, "bob-secret")
	otherTok := token(t, other, base, "/")

	for _, tc := range []struct {
		name  string
		path  string
		login bool // log in first
		csrf  func(own string) string
	}{
		{"login without token", "/login", false, func(string) string { return "" }},
		{"login with a wrong token", "/login", false, func(own string) string { return own + "x" }},
		{"login with another's token", "/login", false, func(string) string { return otherTok }},
		{"logout without token", "/logout", true, func(string) string { return "" }},
		{"logout with a wrong token", "/logout", true, func(own string) string { return strings.ToUpper(own) }},
		{"logout with another session's token", "/logout", true, func(string) string { return otherTok }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := f.browser(t)
			page := "/login"
			if tc.login {
				login(t, c, base, sample.Alice, alicePass)
				page = "/"
			}
			own := token(t, c, base, page)
			form := url.Values{"user": {sample.Alice}, "password": {alicePass}}
			if tok := tc.csrf(own); tok != "" {
				form.Set("csrf", tok)
			}
			if code, body := post(t, c, base, tc.path, form); code != http.StatusForbidden {
				t.Fatalf("forged POST %s: %d, want 403\n%s", tc.path, code, body)
			}
			code, _, _ := get(t, c, base, "/")
			if tc.login && code != http.StatusOK {
				t.Errorf("a forged logout ended the session: / gave %d", code)
			}
			if !tc.login && code == http.StatusOK {
				t.Errorf("a forged login opened a session")
			}
		})
	}

	t.Run("logout with the token", func(t *testing.T) {
		c := f.browser(t)
		login(t, c, base, sample.Alice, alicePass)
		if code, _ := post(t, c, base, "/logout", url.Values{"csrf": {token(t, c, base, "/")}}); code != http.StatusSeeOther {
			t.Fatalf("logout: %d", code)
		}
		if code, _, _ := get(t, c, base, "/"); code != http.StatusSeeOther {
			t.Fatalf("after logout / gave %d", code)
		}
	})
	t.Run("state changes only by POST", func(t *testing.T) {
		c := f.browser(t)
		login(t, c, base, sample.Alice, alicePass)
		if code, _, _ := get(t, c, base, "/logout"); code != http.StatusMethodNotAllowed {
			t.Errorf("GET /logout: %d, want 405", code)
		}
		if code, _, _ := get(t, c, base, "/"); code != http.StatusOK {
			t.Errorf("GET /logout ended the session")
		}
	})
}

func TestLoginToken(t *testing.T) {
	off := newFixture(t, nil)
	if _, err := off.srv.LoginToken(sample.Alice, "/"); err != ErrLoginTokens {
		t.Fatalf("LoginToken with tokens off: %v, want ErrLoginTokens", err)
	}
	f := newFixture(t, &Options{LoginTokens: true})
	for _, tc := range []struct {
		name, next, want string
	}{
		{"to a page", "/sent/1?lang=en", "/sent/1?lang=en"},
		{"to another origin", "//evil.example/", "/"},
		{"to nothing", "", "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := f.srv.LoginToken(sample.Alice, tc.next)
			if err != nil {
				t.Fatal(err)
			}
			c := f.browser(t)
			code, _, h := get(t, c, f.http.URL, p)
			if code != http.StatusSeeOther || h.Get("Location") != tc.want {
				t.Fatalf("token link: %d to %q, want a redirect to %q", code, h.Get("Location"), tc.want)
			}
			if code, _, _ := get(t, c, f.http.URL, "/"); code != http.StatusOK {
				t.Fatalf("no session after the token link: %d", code)
			}
			if code, _, _ := get(t, f.browser(t), f.http.URL, p); code != http.StatusForbidden {
				t.Fatalf("token link used twice: %d, want 403", code)
			}
		})
	}
}

var stateOf = regexp.MustCompile(`<span class="addr">([^<]+)</span>(?: \([^)]*\))?: <span class="state" data-state="([^"]+)">`)

func TestTimeline(t *testing.T) {
	for _, tc := range []struct {
		name     string
		kinds    []pec.Kind
		bob      string
		reason   string
		receipts int  // receipts linked for bob
		overdue  bool // dispatched over 25 h ago, no final state
	}{
		{"nothing yet", nil, "submitted", "", 0, true}, // submitted in September, never accepted
		{"accepted", []pec.Kind{pec.KindAcceptance}, "accepted", "", 1, true},
		{"taken in charge", []pec.Kind{pec.KindAcceptance, pec.KindTakeInCharge}, "taken-in-charge", "", 2, true},
		{"delivered", []pec.Kind{pec.KindAcceptance, pec.KindTakeInCharge, pec.KindDelivery}, "delivered", "", 3, false},
		{"delivered, receipts in another order", []pec.Kind{pec.KindDelivery, pec.KindAcceptance}, "delivered", "", 2, false},
		{"not delivered", []pec.Kind{pec.KindAcceptance, pec.KindDeliveryError}, "not-delivered", "reason", 2, false},
		{"timed out", []pec.Kind{pec.KindAcceptance, pec.KindDeliveryTimeout24h}, "timed-out", "", 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil, tc.kinds...)
			c := f.browser(t)
			login(t, c, f.http.URL, sample.Alice, alicePass)
			code, list, _ := get(t, c, f.http.URL, "/?lang=en")
			if code != http.StatusOK || !strings.Contains(list, `href="/sent/1?lang=en"`) {
				t.Fatalf("list: %d, no link to the sent message\n%s", code, list)
			}
			code, body, _ := get(t, c, f.http.URL, "/sent/1?lang=en")
			if code != http.StatusOK {
				t.Fatalf("timeline: %d", code)
			}
			states := map[string]string{}
			for _, m := range stateOf.FindAllStringSubmatch(body, -1) {
				states[m[1]] = m[2]
			}
			if states[sample.Bob] != tc.bob {
				t.Errorf("bob: %q, want %q\n%s", states[sample.Bob], tc.bob, body)
			}
			carol := "submitted"
			if len(tc.kinds) > 0 {
				carol = "sent-to-ordinary-mail"
			}
			if states[sample.Carol] != carol {
				t.Errorf("carol: %q, want %q", states[sample.Carol], carol)
			}
			if tc.reason != "" && !strings.Contains(body, `class="reason"`) {
				t.Errorf("no reason shown for bob")
			}
			bobPart := body[strings.Index(body, sample.Bob):]
			if i := strings.Index(bobPart, "</section>"); i > 0 {
				bobPart = bobPart[:i]
			}
			if got := strings.Contains(bobPart, `class="overdue"`); got != tc.overdue {
				t.Errorf("bob shown overdue: %v, want %v", got, tc.overdue)
			}
			if got := strings.Count(bobPart, `href="/receipt/`); got != tc.receipts {
				t.Errorf("bob's receipts linked: %d, want %d", got, tc.receipts)
			}
		})
	}
}

func TestReceiptDownload(t *testing.T) {
	f := newFixture(t, nil, pec.KindAcceptance, pec.KindDelivery)
	c := f.browser(t)
	login(t, c, f.http.URL, sample.Alice, alicePass)
	want := f.set.Messages[pec.KindDelivery]
	d := digest(want)
	_, body, _ := get(t, c, f.http.URL, "/sent/1")
	if !strings.Contains(body, `href="/receipt/`+d+`"`) {
		t.Fatalf("timeline does not link the delivery receipt %s", d)
	}

	code, got, h := get(t, c, f.http.URL, "/receipt/"+d)
	if code != http.StatusOK || got != string(want) {
		t.Fatalf("download: %d, %d bytes; want 200 and the %d bytes of the receipt", code, len(got), len(want))
	}
	if cd := h.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, `.eml"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	if ct := h.Get("Content-Type"); ct != "message/rfc822" {
		t.Errorf("Content-Type %q", ct)
	}

	for _, tc := range []struct {
		name string
		c    *http.Client
		path string
		want int
	}{
		{"unknown digest", c, "/receipt/" + strings.Repeat("0", 64), http.StatusNotFound},
		{"short digest", c, "/receipt/abc", http.StatusNotFound},
		{"without a session", f.browser(t), "/receipt/" + d, http.StatusSeeOther},
		{"another holder", func() *http.Client { b := f.browser(t); login(t, b, f.http.URL, sample.Bob, "bob-secret"); return b }(), "/receipt/" + d, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, _ := get(t, tc.c, f.http.URL, tc.path); code != tc.want {
				t.Errorf("%s: %d, want %d", tc.path, code, tc.want)
			}
		})
	}
}

func TestLanguage(t *testing.T) {
	f := newFixture(t, nil, pec.KindAcceptance)
	for _, tc := range []struct {
		name, accept, query, want string
	}{
		{"default", "", "", "Messaggi"},
		{"Accept-Language en", "en-GB,en;q=0.9", "", "Messages"},
		{"Accept-Language it", "it-IT", "", "Messaggi"},
		{"?lang=en wins", "it", "?lang=en", "Messages"},
		{"?lang=it wins", "en", "?lang=it", "Messaggi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := f.browser(t)
			login(t, c, f.http.URL, sample.Alice, alicePass)
			req, _ := http.NewRequest("GET", f.http.URL+"/"+tc.query, nil)
			if tc.accept != "" {
				req.Header.Set("Accept-Language", tc.accept)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b strings.Builder
			if _, err := io.Copy(&b, resp.Body); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), "<h2>"+tc.want+"</h2>") {
				t.Errorf("want the heading %q", tc.want)
			}
		})
	}
}
