package mailbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// stores returns each implementation, fresh, for the same tests.
func stores(t *testing.T) map[string]Store {
	md, err := OpenMaildir(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Store{"maildir": md, "memory": NewMemory()}
}

func read(t *testing.T, b Mailbox, folder string, uid uint32) string {
	t.Helper()
	r, err := b.Open(context.Background(), folder, uid)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			b, err := s.Mailbox(ctx, "mario.rossi@pec.example.it")
			if err != nil {
				t.Fatal(err)
			}
			folders, err := b.Folders(ctx)
			if err != nil || strings.Join(folders, ",") != "INBOX,Sent" {
				t.Fatalf("Folders = %v, %v", folders, err)
			}
			date := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			msg := "Subject: one\r\n\r\nbody\r\n"
			uid1, err := b.Deliver(ctx, "inbox", strings.NewReader(msg), 0, date)
			if err != nil || uid1 != 1 {
				t.Fatalf("Deliver = %d, %v", uid1, err)
			}
			uid2, err := b.Deliver(ctx, Inbox, strings.NewReader("Subject: two\r\n\r\n"), Seen|Flagged, time.Time{})
			if err != nil || uid2 != 2 {
				t.Fatalf("Deliver = %d, %v", uid2, err)
			}
			d, err := b.List(ctx, Inbox)
			if err != nil {
				t.Fatal(err)
			}
			if d.UIDValidity == 0 || d.UIDNext != 3 || len(d.Messages) != 2 || d.Size != int64(len(msg)+16) {
				t.Fatalf("List = %+v", d)
			}
			if m := d.Messages[0]; m.UID != 1 || m.Size != int64(len(msg)) || m.Flags != 0 || !m.InternalDate.Equal(date) {
				t.Errorf("message 1 = %+v", m)
			}
			if m := d.Messages[1]; m.Flags != Seen|Flagged {
				t.Errorf("message 2 flags = %v", m.Flags)
			}
			if got := read(t, b, Inbox, 1); got != msg {
				t.Errorf("Open = %q", got)
			}
			if err := b.SetFlags(ctx, Inbox, 1, Seen|Answered|Deleted); err != nil {
				t.Fatal(err)
			}
			if got := read(t, b, Inbox, 1); got != msg {
				t.Errorf("Open after SetFlags = %q", got)
			}
			d, _ = b.List(ctx, Inbox)
			if d.Messages[0].Flags != Seen|Answered|Deleted {
				t.Errorf("flags = %v", d.Messages[0].Flags)
			}
			if err := b.Expunge(ctx, Inbox, []uint32{1, 99}); err != nil {
				t.Fatal(err)
			}
			d, _ = b.List(ctx, Inbox)
			if len(d.Messages) != 1 || d.Messages[0].UID != 2 || d.UIDNext != 3 {
				t.Errorf("after Expunge: %+v", d)
			}
			uid3, err := b.Deliver(ctx, Inbox, strings.NewReader("x"), 0, time.Time{})
			if err != nil || uid3 != 3 {
				t.Errorf("Deliver after Expunge = %d, %v", uid3, err)
			}
			// Errors say what and where.
			for _, tc := range []struct {
				name string
				err  error
				want error
			}{
				{"open missing", openErr(b, Inbox, 1), ErrNoMessage},
				{"open no folder", openErr(b, "Nope", 1), ErrNoFolder},
				{"flags missing", b.SetFlags(ctx, Inbox, 42, Seen), ErrNoMessage},
				{"create exists", b.CreateFolder(ctx, Sent), ErrFolderExists},
				{"create inbox", b.CreateFolder(ctx, "Inbox"), ErrFolderExists},
				{"create dotted", b.CreateFolder(ctx, "a.b"), ErrInvalidFolder},
				{"create slash", b.CreateFolder(ctx, "../x"), ErrInvalidFolder},
			} {
				var me *Error
				if !errors.Is(tc.err, tc.want) || !errors.As(tc.err, &me) {
					t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
				}
			}
			if err := b.CreateFolder(ctx, Archive); err != nil {
				t.Fatal(err)
			}
			folders, _ = b.Folders(ctx)
			if strings.Join(folders, ",") != "INBOX,Archive,Sent" {
				t.Errorf("Folders = %v", folders)
			}
			if _, err := s.Mailbox(ctx, "../etc"); !errors.Is(err, ErrInvalidUser) {
				t.Errorf("Mailbox(../etc) = %v", err)
			}
		})
	}
}

func openErr(b Mailbox, folder string, uid uint32) error {
	r, err := b.Open(context.Background(), folder, uid)
	if err == nil {
		r.Close()
	}
	return err
}

// TestConcurrent delivers, lists and changes flags from many goroutines
// at once: every message gets its own UID and none is lost.
func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			b, err := s.Mailbox(ctx, "u")
			if err != nil {
				t.Fatal(err)
			}
			const n = 40
			uids := make(chan uint32, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(2)
				go func() {
					defer wg.Done()
					uid, err := b.Deliver(ctx, Inbox, strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\n", i)), 0, time.Time{})
					if err != nil {
						t.Error(err)
						return
					}
					uids <- uid
					if err := b.SetFlags(ctx, Inbox, uid, Seen); err != nil {
						t.Error(err)
					}
				}()
				go func() {
					defer wg.Done()
					if _, err := b.List(ctx, Inbox); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			close(uids)
			seen := map[uint32]bool{}
			for u := range uids {
				if seen[u] {
					t.Errorf("uid %d given twice", u)
				}
				seen[u] = true
			}
			d, err := b.List(ctx, Inbox)
			if err != nil || len(d.Messages) != n {
				t.Fatalf("List: %d messages, %v", len(d.Messages), err)
			}
			for _, m := range d.Messages {
				if m.Flags != Seen {
					t.Errorf("uid %d flags %v", m.UID, m.Flags)
				}
			}
		})
	}
}

func TestDeliverCanceled(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			b, _ := s.Mailbox(context.Background(), "u")
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := b.Deliver(ctx, Inbox, strings.NewReader("x"), 0, time.Time{}); !errors.Is(err, context.Canceled) {
				t.Errorf("Deliver = %v", err)
			}
			d, _ := b.List(context.Background(), Inbox)
			if len(d.Messages) != 0 {
				t.Errorf("a canceled delivery left %d messages", len(d.Messages))
			}
		})
	}
}

// TestChanged: a watcher is woken by a delivery, a flag change and an
// expunge, in each store.
func TestChanged(t *testing.T) {
	ctx := context.Background()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			b, _ := s.Mailbox(ctx, "u")
			w := b.(Watcher)
			if w.Changed("Nope") != nil {
				t.Error("a missing folder has a change channel")
			}
			var uid uint32
			for _, tc := range []struct {
				name string
				do   func() error
			}{
				{"deliver", func() (err error) {
					uid, err = b.Deliver(ctx, Inbox, strings.NewReader("x"), 0, time.Time{})
					return err
				}},
				{"set flags", func() error { return b.SetFlags(ctx, Inbox, uid, Seen) }},
				{"expunge", func() error { return b.Expunge(ctx, Inbox, []uint32{uid}) }},
			} {
				ch := w.Changed(Inbox)
				select {
				case <-ch:
					t.Fatalf("%s: woken before the change", tc.name)
				default:
				}
				if err := tc.do(); err != nil {
					t.Fatal(err)
				}
				select {
				case <-ch:
				case <-time.After(5 * time.Second):
					t.Fatalf("%s: not woken", tc.name)
				}
			}
		})
	}
}
