package imap

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/pecsdk/pec/provider/mailbox"
)

func TestStore(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			f := start(t, store, nil)
			f.deliver(t, mailbox.Inbox, msg1)
			c := f.login(t, nil)
			if _, err := c.Select("INBOX", nil).Wait(); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				op     goimap.StoreFlagsOp
				flags  []goimap.Flag
				silent bool
				want   mailbox.Flags
			}{
				{goimap.StoreFlagsAdd, []goimap.Flag{goimap.FlagSeen, goimap.FlagFlagged}, false, mailbox.Seen | mailbox.Flagged},
				{goimap.StoreFlagsAdd, []goimap.Flag{"$Keyword", goimap.FlagAnswered}, true, mailbox.Seen | mailbox.Flagged | mailbox.Answered},
				{goimap.StoreFlagsDel, []goimap.Flag{goimap.FlagFlagged, goimap.FlagDraft}, false, mailbox.Seen | mailbox.Answered},
				{goimap.StoreFlagsSet, []goimap.Flag{goimap.FlagDraft}, false, mailbox.Draft},
				{goimap.StoreFlagsSet, nil, true, 0},
			} {
				msgs, err := c.Store(goimap.UIDSetNum(1), &goimap.StoreFlags{Op: tc.op, Flags: tc.flags, Silent: tc.silent}, nil).Collect()
				if err != nil {
					t.Fatal(err)
				}
				if !tc.silent {
					if len(msgs) != 1 || toFlags(msgs[0].Flags) != tc.want || len(msgs[0].Flags) != len(fromFlags(tc.want)) {
						t.Errorf("%v %v: response %+v, want %v", tc.op, tc.flags, msgs, tc.want)
					}
				}
				d, _ := f.box(t).List(context.Background(), mailbox.Inbox)
				if got := d.Messages[0].Flags; got != tc.want {
					t.Errorf("%v %v: stored %v, want %v", tc.op, tc.flags, got, tc.want)
				}
			}
		})
	}
}

// TestDamagedFile: a stored file shorter than its recorded size is sent
// padded to that size, so that the session stays in step.
func TestDamagedFile(t *testing.T) {
	md, err := mailbox.OpenMaildir(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	f := start(t, md, nil)
	f.deliver(t, mailbox.Inbox, msg1, msg2)
	news, _ := os.ReadDir(filepath.Join(md.Dir(user), "new"))
	for _, de := range news {
		p := filepath.Join(md.Dir(user), "new", de.Name())
		if data, _ := os.ReadFile(p); string(data) == msg1 {
			os.WriteFile(p, []byte(msg1[:10]), 0o600)
		}
	}
	c := f.login(t, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(goimap.SeqSetNum(1, 2), &goimap.FetchOptions{BodySection: []*goimap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil || len(msgs) != 2 {
		t.Fatalf("FETCH: %d messages, %v", len(msgs), err)
	}
	if got := string(msgs[0].BodySection[0].Bytes); got != msg1[:10]+strings.Repeat(" ", len(msg1)-10) {
		t.Errorf("damaged message sent as %q", got)
	}
	if got := string(msgs[1].BodySection[0].Bytes); got != msg2 {
		t.Errorf("next message sent as %q", got)
	}
}
