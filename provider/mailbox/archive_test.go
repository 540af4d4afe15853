package mailbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestArchive: a message delivered with DeliverArchived stays in Archive
// when deleted from INBOX, and Archive refuses every change but flags.
func TestArchive(t *testing.T) {
	ctx := context.Background()
	for name, s := range quotaStores(t, 1000) {
		t.Run(name, func(t *testing.T) {
			b, _ := s.Mailbox(ctx, "u")
			a := b.(Archiver)
			date := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
			msgs := []struct{ folder, body string }{
				{Inbox, "X-Trasporto: posta-certificata\r\n\r\nbusta\r\n"},
				{Sent, "Subject: inviato\r\n\r\n"},
				{Inbox, "X-Ricevuta: avvenuta-consegna\r\n\r\nricevuta\r\n"},
			}
			var total int64
			for i, m := range msgs {
				uid, err := a.DeliverArchived(ctx, m.folder, strings.NewReader(m.body), 0, date)
				if err != nil {
					t.Fatal(err)
				}
				if got := read(t, b, m.folder, uid); got != m.body {
					t.Errorf("%s uid %d: %q", m.folder, uid, got)
				}
				total += int64(len(m.body))
				d, err := b.List(ctx, Archive)
				if err != nil || len(d.Messages) != i+1 {
					t.Fatalf("Archive after %d: %+v, %v", i+1, d, err)
				}
			}
			d, _ := b.List(ctx, Archive)
			for i, m := range d.Messages {
				if m.Flags != Seen || !m.InternalDate.Equal(date) || read(t, b, Archive, m.UID) != msgs[i].body {
					t.Errorf("Archive uid %d: %+v", m.UID, m)
				}
			}
			// Archive costs nothing in the quota.
			if u, _ := b.(Metered).Usage(ctx); u.Bytes != total || u.Messages != 3 {
				t.Errorf("usage %+v, want %d bytes", u, total)
			}
			// Deleted from INBOX, still in Archive.
			in, _ := b.List(ctx, Inbox)
			for _, m := range in.Messages {
				if err := b.SetFlags(ctx, Inbox, m.UID, Deleted); err != nil {
					t.Fatal(err)
				}
				if err := b.Expunge(ctx, Inbox, []uint32{m.UID}); err != nil {
					t.Fatal(err)
				}
			}
			if in, _ := b.List(ctx, Inbox); len(in.Messages) != 0 {
				t.Fatalf("INBOX not emptied: %+v", in)
			}
			if got := snapshot(t, b); !strings.Contains(got, "busta") || !strings.Contains(got, "ricevuta") {
				t.Errorf("deleted from INBOX, gone from Archive:\n%s", got)
			}
			if md, ok := s.(*Maildir); ok {
				// One file, linked twice.
				des, _ := os.ReadDir(filepath.Join(md.Dir("u"), ".Sent", "new"))
				arch, _ := os.ReadDir(filepath.Join(md.Dir("u"), ".Archive", "cur"))
				if len(des) != 1 || len(arch) != 3 {
					t.Fatalf("files: Sent %d, Archive %d", len(des), len(arch))
				}
				st1, _ := os.Stat(filepath.Join(md.Dir("u"), ".Sent", "new", des[0].Name()))
				found := false
				for _, e := range arch {
					st2, _ := os.Stat(filepath.Join(md.Dir("u"), ".Archive", "cur", e.Name()))
					found = found || os.SameFile(st1, st2)
				}
				if !found {
					t.Error("the Archive copy is not a hard link of the Sent one")
				}
			}
			uid := d.Messages[0].UID
			for _, tc := range []struct {
				name string
				err  error
			}{
				{"deliver", func() error {
					_, err := b.Deliver(ctx, Archive, strings.NewReader("x"), 0, time.Time{})
					return err
				}()},
				{"deliver archived", func() error {
					_, err := a.DeliverArchived(ctx, Archive, strings.NewReader("x"), 0, time.Time{})
					return err
				}()},
				{"expunge", b.Expunge(ctx, Archive, []uint32{uid})},
				{"expunge none", b.Expunge(ctx, Archive, nil)},
				{"flag deleted", b.SetFlags(ctx, Archive, uid, Seen|Deleted)},
			} {
				var me *Error
				if !errors.Is(tc.err, ErrReadOnly) || !errors.As(tc.err, &me) || me.Folder != Archive {
					t.Errorf("%s in Archive: %v, want ErrReadOnly", tc.name, tc.err)
				}
			}
			if err := b.SetFlags(ctx, Archive, uid, Flagged); err != nil {
				t.Errorf("flag in Archive: %v", err)
			}
			if d2, _ := b.List(ctx, Archive); len(d2.Messages) != 3 {
				t.Errorf("Archive holds %d messages", len(d2.Messages))
			}
		})
	}
}

// TestArchiveQuota: over quota, DeliverArchived files nothing anywhere.
func TestArchiveQuota(t *testing.T) {
	ctx := context.Background()
	for name, s := range quotaStores(t, 10) {
		t.Run(name, func(t *testing.T) {
			b, _ := s.Mailbox(ctx, "u")
			a := b.(Archiver)
			if _, err := a.DeliverArchived(ctx, Inbox, strings.NewReader("0123456789"), 0, time.Time{}); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, b)
			if _, err := a.DeliverArchived(ctx, Inbox, strings.NewReader("x"), 0, time.Time{}); !errors.Is(err, ErrQuota) {
				t.Fatalf("DeliverArchived over quota: %v", err)
			}
			if after := snapshot(t, b); after != before {
				t.Errorf("refused delivery changed the mailbox:\n%s\nthen\n%s", before, after)
			}
		})
	}
}

// TestCopyFile: the Archive copy made where hard links fail has the bytes
// and date of the message, and is never left half-written.
func TestCopyFile(t *testing.T) {
	s, _ := OpenMaildir(t.TempDir(), nil)
	dir := t.TempDir()
	from, to := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(from, []byte("busta"), 0o600)
	date := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.copyFile(from, to, date); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(to)
	st, _ := os.Stat(to)
	if string(data) != "busta" || !st.ModTime().Equal(date) {
		t.Errorf("copy %q dated %v", data, st.ModTime())
	}
	if err := s.copyFile(from, to, date); err == nil {
		t.Error("copy over an existing file succeeded")
	}
	if data, _ := os.ReadFile(to); string(data) != "busta" {
		t.Errorf("a refused copy changed the file: %q", data)
	}
	if err := s.copyFile(filepath.Join(dir, "missing"), filepath.Join(dir, "c"), date); err == nil {
		t.Error("copy of a missing file succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "c")); err == nil {
		t.Error("a failed copy left a file")
	}
}
