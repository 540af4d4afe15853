package mailbox

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/pecsdk/pec/internal/dovecottest"
)

// TestDovecotSharesMaildir points a real Dovecot at mailboxes this
// package wrote, and this package at what Dovecot changed: both see the
// same folders, UIDVALIDITY, UIDs, flags and bytes.
func TestDovecotSharesMaildir(t *testing.T) {
	const user, pass = "mario@pec.example.it", "segreta"
	dc := dovecottest.Start(t, &dovecottest.Options{Users: map[string]string{user: pass}})
	ctx := context.Background()
	root := filepath.Dir(dc.Maildir(user))
	s, err := OpenMaildir(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Mailbox(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	msgs := []string{"Subject: uno\r\n\r\nuno\r\n", "Subject: due\r\n\r\ndue\r\n"}
	for _, m := range msgs {
		if _, err := b.Deliver(ctx, Inbox, strings.NewReader(m), 0, date); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.SetFlags(ctx, Inbox, 2, Flagged|Answered); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Deliver(ctx, Sent, strings.NewReader("Subject: inviato\r\n\r\n"), Seen, date); err != nil {
		t.Fatal(err)
	}
	mine, _ := b.List(ctx, Inbox)
	chownTree(t, s.Dir(user), dc)

	c, err := imapclient.DialTLS(dc.IMAPS, &imapclient.Options{TLSConfig: dc.TLS.ClientConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatal(err)
	}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range list {
		names = append(names, l.Mailbox)
	}
	if !strings.Contains(strings.Join(names, ","), "Sent") {
		t.Errorf("Dovecot lists %v, no Sent", names)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.UIDValidity != mine.UIDValidity || sel.NumMessages != 2 || uint32(sel.UIDNext) != mine.UIDNext {
		t.Errorf("Dovecot: UIDVALIDITY %d, %d messages, UIDNEXT %d; ours %d, %d", sel.UIDValidity, sel.NumMessages, sel.UIDNext, mine.UIDValidity, mine.UIDNext)
	}
	got, err := c.Fetch(goimap.SeqSetNum(1, 2), &goimap.FetchOptions{UID: true, Flags: true, RFC822Size: true, InternalDate: true, BodySection: []*goimap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range got {
		if uint32(m.UID) != mine.Messages[i].UID || string(m.BodySection[0].Bytes) != msgs[i] || !m.InternalDate.Equal(date) || m.RFC822Size != int64(len(msgs[i])) {
			t.Errorf("Dovecot message %d: uid %d size %d date %v body %q", i, m.UID, m.RFC822Size, m.InternalDate, m.BodySection[0].Bytes)
		}
	}
	if f := got[1].Flags; len(f) != 2 {
		t.Errorf("Dovecot flags of uid 2: %v", f)
	}

	// Dovecot changes flags and stores a message; this package sees both.
	if err := c.Store(goimap.UIDSetNum(1), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagSeen, goimap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	app := c.Append("INBOX", 10, nil)
	app.Write([]byte("Subject: 3"))
	app.Close()
	ad, err := app.Wait()
	if err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()
	for _, store := range []*Maildir{s, mustOpen(t, root)} {
		bx, _ := store.Mailbox(ctx, user)
		d, err := bx.List(ctx, Inbox)
		if err != nil {
			t.Fatal(err)
		}
		if d.UIDValidity != mine.UIDValidity || len(d.Messages) != 3 || d.Messages[2].UID != uint32(ad.UID) {
			t.Fatalf("after Dovecot: %+v (appended uid %d)", d, ad.UID)
		}
		if d.Messages[0].Flags != Seen|Deleted {
			t.Errorf("flags set by Dovecot: %v", d.Messages[0].Flags)
		}
		if got := read(t, bx, Inbox, uint32(ad.UID)); got != "Subject: 3" {
			t.Errorf("message stored by Dovecot: %q", got)
		}
	}
}

func mustOpen(t *testing.T, root string) *Maildir {
	s, err := OpenMaildir(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// chownTree gives the mailbox to the user Dovecot serves mail as.
func chownTree(t *testing.T, dir string, dc *dovecottest.Server) {
	st, err := os.Stat(dc.Maildir("mario@pec.example.it"))
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
