package imap

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/pecsdk/pec/provider/mailbox"
)

// imapStores returns each store, fresh, with a quota of limit bytes for
// the test user.
func imapStores(t *testing.T, limit int64) map[string]mailbox.Store {
	md, err := mailbox.OpenMaildir(t.TempDir(), &mailbox.MaildirOptions{Quota: limit})
	if err != nil {
		t.Fatal(err)
	}
	mem := mailbox.NewMemory()
	mem.SetQuota(user, limit)
	return map[string]mailbox.Store{"maildir": md, "memory": mem}
}

// wantCode checks that err is a tagged NO with the response code.
func wantCode(t *testing.T, what string, err error, code goimap.ResponseCode) {
	t.Helper()
	var ie *goimap.Error
	if !errors.As(err, &ie) || ie.Type != goimap.StatusResponseTypeNo || ie.Code != code {
		t.Errorf("%s: %v, want NO [%s]", what, err, code)
	}
}

// TestArchiveOverIMAP: a message deleted from INBOX by an IMAP client is
// still in Archive, where every removal and addition is refused with a NO.
func TestArchiveOverIMAP(t *testing.T) {
	ctx := context.Background()
	for name, store := range imapStores(t, 0) {
		t.Run(name, func(t *testing.T) {
			f := start(t, store, nil)
			b := f.box(t)
			if _, err := b.(mailbox.Archiver).DeliverArchived(ctx, mailbox.Inbox, strings.NewReader(msg1), 0, time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)); err != nil {
				t.Fatal(err)
			}
			f.deliver(t, mailbox.Inbox, msg2) // not certified: not archived
			c := f.login(t, nil)

			if _, err := c.Select("INBOX", nil).Wait(); err != nil {
				t.Fatal(err)
			}
			if err := c.Store(goimap.SeqSetNum(1, 2), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
				t.Fatal(err)
			}
			if exp, err := c.Expunge().Collect(); err != nil || len(exp) != 2 {
				t.Fatalf("EXPUNGE INBOX = %v, %v", exp, err)
			}
			wantCode(t, "COPY into Archive", copyErr(c, "Archive"), goimap.ResponseCodeNoPerm)

			sel, err := c.Select("Archive", nil).Wait()
			if err != nil || sel.NumMessages != 1 {
				t.Fatalf("SELECT Archive = %+v, %v", sel, err)
			}
			if slices.Contains(sel.PermanentFlags, goimap.FlagDeleted) || !slices.Contains(sel.PermanentFlags, goimap.FlagSeen) {
				t.Errorf("Archive PERMANENTFLAGS %v", sel.PermanentFlags)
			}
			got, err := c.Fetch(goimap.SeqSetNum(1), &goimap.FetchOptions{Flags: true, BodySection: []*goimap.FetchItemBodySection{{Peek: true}}}).Collect()
			if err != nil || len(got) != 1 || string(got[0].BodySection[0].Bytes) != msg1 {
				t.Fatalf("FETCH Archive = %v, %v", got, err)
			}
			if !slices.Contains(got[0].Flags, goimap.FlagSeen) {
				t.Errorf("Archive copy flags %v, want \\Seen", got[0].Flags)
			}
			wantCode(t, "STORE +FLAGS \\Deleted", c.Store(goimap.SeqSetNum(1), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagDeleted}}, nil).Close(), goimap.ResponseCodeNoPerm)
			wantCode(t, "STORE FLAGS \\Deleted", c.Store(goimap.SeqSetNum(1), &goimap.StoreFlags{Op: goimap.StoreFlagsSet, Flags: []goimap.Flag{goimap.FlagDeleted, goimap.FlagSeen}}, nil).Close(), goimap.ResponseCodeNoPerm)
			if err := c.Store(goimap.SeqSetNum(1), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagFlagged}, Silent: true}, nil).Close(); err != nil {
				t.Errorf("STORE \\Flagged in Archive: %v", err)
			}
			if exp, err := c.Expunge().Collect(); err != nil || len(exp) != 0 {
				t.Errorf("EXPUNGE Archive = %v, %v", exp, err)
			}
			app := c.Append("Archive", int64(len(msg2)), nil)
			app.Write([]byte(msg2))
			app.Close()
			_, err = app.Wait()
			wantCode(t, "APPEND to Archive", err, goimap.ResponseCodeNoPerm)
			if err != nil && !strings.Contains(err.Error(), "read-only") {
				t.Errorf("APPEND to Archive: %q does not say why", err)
			}
			if err := c.Unselect().Wait(); err != nil {
				t.Fatal(err)
			}
			d, err := b.List(ctx, mailbox.Archive)
			if err != nil || len(d.Messages) != 1 || d.Messages[0].Flags != mailbox.Seen|mailbox.Flagged {
				t.Errorf("Archive after the session: %+v, %v", d, err)
			}
		})
	}
}

func copyErr(c *imapclient.Client, dest string) error {
	_, err := c.Copy(goimap.SeqSetNum(1), dest).Wait()
	return err
}

// TestQuotaOverIMAP: an APPEND or COPY that does not fit is refused with
// NO [OVERQUOTA] (RFC 9208 §4.3), and a COPY refused halfway leaves the
// destination as it was.
func TestQuotaOverIMAP(t *testing.T) {
	ctx := context.Background()
	for name, store := range imapStores(t, 1000) {
		t.Run(name, func(t *testing.T) {
			f := start(t, store, nil)
			f.deliver(t, mailbox.Inbox, strings.Repeat("a", 100), strings.Repeat("b", 500))
			c := f.login(t, nil)
			if _, err := c.Select("INBOX", nil).Wait(); err != nil {
				t.Fatal(err)
			}
			append := func(size int) error {
				app := c.Append("Sent", int64(size), nil)
				app.Write([]byte(strings.Repeat("x", size)))
				app.Close()
				_, err := app.Wait()
				return err
			}
			if err := append(200); err != nil { // 800 bytes used
				t.Fatalf("APPEND that fits: %v", err)
			}
			wantCode(t, "APPEND past the quota", append(201), goimap.ResponseCodeOverQuota)
			before, _ := f.box(t).List(ctx, mailbox.Sent)
			// The first message fits, the second does not.
			wantCode(t, "COPY past the quota", copyAll(c, "Sent"), goimap.ResponseCodeOverQuota)
			after, _ := f.box(t).List(ctx, mailbox.Sent)
			if len(after.Messages) != len(before.Messages) || after.Size != before.Size {
				t.Errorf("Sent after a refused COPY: %+v, before %+v", after, before)
			}
			// Expunging frees the space.
			if err := c.Store(goimap.SeqSetNum(2), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Expunge().Collect(); err != nil {
				t.Fatal(err)
			}
			if err := append(700); err != nil {
				t.Errorf("APPEND after EXPUNGE: %v", err)
			}
			if u, _ := f.box(t).(mailbox.Metered).Usage(ctx); u.Bytes != 1000 {
				t.Errorf("usage %+v", u)
			}
		})
	}
}

func copyAll(c *imapclient.Client, dest string) error {
	_, err := c.Copy(goimap.SeqSet{{Start: 1, Stop: 0}}, dest).Wait()
	return err
}
