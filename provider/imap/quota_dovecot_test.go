package imap

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/pecsdk/pec/internal/dovecottest"
	"github.com/pecsdk/pec/provider/mailbox"
)

// TestQuotaLikeDovecot serves one Maildir with this package and with a
// real Dovecot whose Maildir++ quota has the same limit, Archive ignored:
// GETQUOTAROOT INBOX gives the same STORAGE figures from both, before and
// after each stores a message.
func TestQuotaLikeDovecot(t *testing.T) {
	const limit = 100_000
	dc := dovecottest.Start(t, &dovecottest.Options{Users: map[string]string{user: pass}})
	dovecotQuota(t, dc, limit)
	ctx := context.Background()
	md, err := mailbox.OpenMaildir(filepath.Dir(dc.Maildir(user)), &mailbox.MaildirOptions{Quota: limit})
	if err != nil {
		t.Fatal(err)
	}
	box, err := md.Mailbox(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	for i, size := range []int{2000, 3500, 100} {
		msg := "Subject: q" + strconv.Itoa(i) + "\r\n\r\n" + strings.Repeat("x", size)
		if _, err := box.(mailbox.Archiver).DeliverArchived(ctx, mailbox.Inbox, strings.NewReader(msg), 0, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	chownLike(t, md.Dir(user), dc)
	f := start(t, md, nil)
	ours := f.login(t, nil)
	theirs := dovecotQuotaClient(t, dc)
	storage := func(c *imapclient.Client) goimapQuota {
		t.Helper()
		qs, err := c.GetQuotaRoot("INBOX").Wait()
		if err != nil || len(qs) != 1 {
			t.Fatalf("GETQUOTAROOT = %+v, %v", qs, err)
		}
		r := qs[0].Resources[goimap.QuotaResourceStorage]
		return goimapQuota{r.Usage, r.Limit}
	}
	appendMsg := func(c *imapclient.Client, size int) {
		t.Helper()
		data := "Subject: a\r\n\r\n" + strings.Repeat("y", size)
		app := c.Append("INBOX", int64(len(data)), nil)
		app.Write([]byte(data))
		app.Close()
		if _, err := app.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	for step, add := range []func(){
		func() {},
		func() { appendMsg(ours, 7000) },
		func() { appendMsg(theirs, 5000) },
	} {
		add()
		chownLike(t, md.Dir(user), dc)
		o, d := storage(ours), storage(theirs)
		t.Logf("step %d: STORAGE %d of %d KiB here, %d of %d at Dovecot", step, o.Usage, o.Limit, d.Usage, d.Limit)
		if o != d || o.Limit != 98 {
			t.Errorf("step %d: STORAGE here %+v, Dovecot %+v", step, o, d)
		}
	}
}

// dovecotQuota adds Dovecot's Maildir++ quota to the test server's
// configuration, Archive ignored, and reloads it.
func dovecotQuota(t *testing.T, dc *dovecottest.Server, limit int) {
	conf := filepath.Join(dc.Dir, "dovecot.conf")
	data, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	const block = "protocol imap {\n"
	if !strings.Contains(string(data), block) {
		t.Skip("the test Dovecot's configuration has no protocol imap block")
	}
	quota := "mail_plugins = $mail_plugins quota\nplugin {\n  quota = maildir:User quota\n  quota_rule = *:storage=" +
		strconv.Itoa(limit) + "B\n  quota_rule2 = Archive:ignore\n}\n" + block + "  mail_plugins = $mail_plugins imap_quota\n"
	if err := os.WriteFile(conf, []byte(strings.Replace(string(data), block, quota, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var pid []byte
	for try := 0; ; try++ {
		pid, err = os.ReadFile(filepath.Join(dc.Dir, "run", "master.pid"))
		if err == nil || try == 100 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(pid)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(n, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
}

// dovecotQuotaClient logs in to Dovecot once its reloaded configuration
// offers QUOTA.
func dovecotQuotaClient(t *testing.T, dc *dovecottest.Server) *imapclient.Client {
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := imapclient.DialTLS(dc.IMAPS, &imapclient.Options{TLSConfig: dc.TLS.ClientConfig()})
		if err == nil {
			if err = c.Login(user, pass).Wait(); err == nil {
				if caps, err := c.Capability().Wait(); err == nil && caps.Has(goimap.CapQuota) {
					t.Cleanup(func() { c.Close() })
					return c
				}
			}
			c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("Dovecot offers no QUOTA after reload: %v\n%s", err, dc.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// chownLike gives dir to the user Dovecot serves the Maildir as.
func chownLike(t *testing.T, dir string, dc *dovecottest.Server) {
	st, err := os.Stat(dc.Maildir(user))
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	if os.Geteuid() != 0 {
		return
	}
	filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err == nil {
			err = os.Chown(p, int(sys.Uid), int(sys.Gid))
		}
		return err
	})
}
