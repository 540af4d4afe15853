package imap

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/provider/mailbox"
)

// TestCurl reads a message with curl, over IMAPS and over STARTTLS.
func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl not installed")
		}
		t.Skip("curl not installed")
	}
	f := start(t, nil, nil)
	f.deliver(t, mailbox.Inbox, msg1, msg2)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, f.cert.CAPEM(), 0o600)
	for _, tc := range []struct{ name, url string }{
		{"imaps", "imaps://" + f.imaps + "/INBOX;UID=2"},
		{"starttls", "imap://" + f.imap + "/INBOX;UID=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, curl, "-sS", "--ssl-reqd", "--cacert", ca,
				"--user", user+":"+pass, tc.url).CombinedOutput()
			if err != nil {
				t.Fatalf("curl: %v\n%s", err, out)
			}
			want := msg2
			if tc.name == "starttls" {
				want = msg1
			}
			if string(out) != want {
				t.Errorf("curl read %q, want %q", out, want)
			}
		})
	}
}

// TestClientFetch reads the mailbox with the SDK's own IMAP client.
func TestClientFetch(t *testing.T) {
	f := start(t, nil, nil)
	f.deliver(t, mailbox.Inbox, msg1, msg2)
	host, port, _ := net.SplitHostPort(f.imaps)
	p, _ := strconv.Atoi(port)
	opts := &client.FetchOptions{
		Protocol:  client.IMAP,
		Server:    client.Endpoint{Host: host, Port: p},
		TLSConfig: f.cert.ClientConfig(),
		Username:  user,
		Password:  pass,
		Dir:       t.TempDir(),
	}
	res, err := client.Fetch(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Messages) != 2 || res.New != 2 {
		t.Fatalf("fetched %d messages, %d new", len(res.Messages), res.New)
	}
	data, err := os.ReadFile(res.Messages[1].Path)
	if err != nil || string(data) != msg2 {
		t.Errorf("second message %q, %v", data, err)
	}
	// A second pass finds nothing new: UIDs are stable.
	f.deliver(t, mailbox.Inbox, msg1)
	res, err = client.Fetch(context.Background(), opts)
	if err != nil || len(res.Messages) != 1 {
		t.Fatalf("second pass: %d messages, %v", len(res.Messages), err)
	}
}
