package pop3

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/internal/dovecottest"
)

// TestCurl reads a message with curl, over POP3S and over STLS.
func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl not installed")
		}
		t.Skip("curl not installed")
	}
	cert, err := dovecottest.NewTLS("curl CA")
	if err != nil {
		t.Fatal(err)
	}
	f := startWith(t, cert, nil)
	f.deliver(t, msg1, msg2)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, cert.CAPEM(), 0o600)
	for _, tc := range []struct{ name, url string }{
		{"pop3s", "pop3s://" + f.pop3s + "/2"},
		{"stls", "pop3://" + f.pop3 + "/2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, curl, "-sS", "--ssl-reqd", "--cacert", ca,
				"--user", "mario@pec.example.it:segreta", tc.url).CombinedOutput()
			if err != nil {
				t.Fatalf("curl: %v\n%s", err, out)
			}
			if got, want := string(out), strings.ReplaceAll(msg2, "\n", "\r\n"); got != want {
				t.Errorf("curl read %q, want %q", got, want)
			}
		})
	}
}

// TestClientFetch reads the mailbox with the SDK's own POP3 client.
func TestClientFetch(t *testing.T) {
	cert, err := dovecottest.NewTLS("client CA")
	if err != nil {
		t.Fatal(err)
	}
	f := startWith(t, cert, nil)
	f.deliver(t, msg1, msg2)
	host, port := splitAddr(t, f.pop3s)
	res, err := client.Fetch(context.Background(), &client.FetchOptions{
		Protocol:  client.POP3,
		Server:    client.Endpoint{Host: host, Port: port},
		TLSConfig: cert.ClientConfig(),
		Username:  "mario@pec.example.it",
		Password:  "segreta",
		Dir:       t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Messages) != 2 || res.New != 2 {
		t.Fatalf("fetched %d messages, %d new", len(res.Messages), res.New)
	}
	data, err := os.ReadFile(res.Messages[0].Path)
	if err != nil || string(data) != msg1 {
		t.Errorf("first message %q, %v", data, err)
	}
}
