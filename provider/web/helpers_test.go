package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/sample"
)

// fixture is a server over a memory store holding the sample world's
// mailbox of alice.
type fixture struct {
	set   *sample.Set
	store *mailbox.Memory
	srv   *Server
	http  *httptest.Server
}

const alicePass = "alice-secret"

var sampleSet = func() func(t testing.TB) (*sample.Set, *smime.VerifyOptions) {
	var set *sample.Set
	var opts *smime.VerifyOptions
	return func(t testing.TB) (*sample.Set, *smime.VerifyOptions) {
		t.Helper()
		if set == nil {
			s, err := sample.New(time.Now().Add(-48 * time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			idx, err := s.Index()
			if err != nil {
				t.Fatal(err)
			}
			set, opts = s, &smime.VerifyOptions{Roots: s.PKI.Pool(), Authority: idx}
		}
		return set, opts
	}
}()

// newFixture files the original in alice's Sent and the receipts of kinds
// in her INBOX, and serves the web view over them.
func newFixture(t *testing.T, opts *Options, kinds ...pec.Kind) *fixture {
	t.Helper()
	set, verify := sampleSet(t)
	ctx := context.Background()
	store := mailbox.NewMemory()
	mb, err := store.Mailbox(ctx, sample.Alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Deliver(ctx, mailbox.Sent, strings.NewReader(sample.Original), mailbox.Seen, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for _, k := range kinds {
		if _, err := mb.Deliver(ctx, mailbox.Inbox, bytes.NewReader(set.Messages[k]), 0, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	accounts := mailbox.NewAccounts(&mailbox.AccountsOptions{Iterations: 1000})
	accounts.Set(sample.Alice, alicePass)
	accounts.Set(sample.Bob, "bob-secret")
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o.Verify = verify
	if o.Throttle == nil {
		o.Throttle = &mailbox.Throttle{Base: time.Millisecond, Max: time.Millisecond}
	}
	srv := New(store, accounts, &o)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &fixture{set: set, store: store, srv: srv, http: hs}
}

// browser is an HTTP client with its own cookies that does not follow
// redirects.
func (f *fixture) browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// get fetches path and returns the status and body.
func get(t *testing.T, c *http.Client, base, path string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func post(t *testing.T, c *http.Client, base, path string, form url.Values) (int, string) {
	t.Helper()
	resp, err := c.PostForm(base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// token returns the form token of the page at path.
func token(t *testing.T, c *http.Client, base, path string) string {
	t.Helper()
	_, body, _ := get(t, c, base, path)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form token in %s:\n%s", path, body)
	}
	return m[1]
}

// login logs c in as user and fails the test unless it works.
func login(t *testing.T, c *http.Client, base, user, pass string) {
	t.Helper()
	tok := token(t, c, base, "/login")
	code, body := post(t, c, base, "/login", url.Values{"csrf": {tok}, "user": {user}, "password": {pass}})
	if code != http.StatusSeeOther {
		t.Fatalf("login as %s: %d\n%s", user, code, body)
	}
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
