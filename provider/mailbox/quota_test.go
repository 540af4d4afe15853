package mailbox

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// quotaStores returns each store with a quota of limit bytes for every
// user.
func quotaStores(t *testing.T, limit int64) map[string]Store {
	md, err := OpenMaildir(t.TempDir(), &MaildirOptions{Quota: limit})
	if err != nil {
		t.Fatal(err)
	}
	mem := NewMemory()
	mem.SetQuota("u", limit)
	return map[string]Store{"maildir": md, "memory": mem}
}

// sums returns the SHA-256 of every file under root, by path.
func sums(t *testing.T, root string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[p] = sha256.Sum256(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// snapshot describes a mailbox through its API: every folder's messages
// and their bytes.
func snapshot(t *testing.T, b Mailbox) string {
	t.Helper()
	ctx := context.Background()
	folders, err := b.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var s strings.Builder
	for _, f := range folders {
		d, err := b.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&s, "%s %d %d\n", f, d.UIDNext, d.Size)
		for _, m := range d.Messages {
			fmt.Fprintf(&s, " %d %v %q\n", m.UID, m.Flags, read(t, b, f, m.UID))
		}
	}
	return s.String()
}

// untouchable fails the test if a refused delivery reads its message.
type untouchable struct{ t *testing.T }

func (u untouchable) Read([]byte) (int, error) {
	u.t.Error("a delivery to a full mailbox read its message")
	return 0, io.EOF
}

func TestQuota(t *testing.T) {
	ctx := context.Background()
	const limit = 100
	for name, s := range quotaStores(t, limit) {
		t.Run(name, func(t *testing.T) {
			b, err := s.Mailbox(ctx, "u")
			if err != nil {
				t.Fatal(err)
			}
			usage := func() Usage {
				t.Helper()
				u, err := b.(Metered).Usage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return u
			}
			deliver := func(folder string, size int) (uint32, error) {
				return b.Deliver(ctx, folder, strings.NewReader(strings.Repeat("x", size)), 0, time.Time{})
			}
			snap := func() (string, map[string][32]byte) {
				if md, ok := s.(*Maildir); ok {
					return snapshot(t, b), sums(t, md.Dir("u"))
				}
				return snapshot(t, b), nil
			}
			for _, tc := range []struct {
				folder string
				size   int
				want   error
				used   int64
			}{
				{Inbox, 60, nil, 60},
				{Sent, 30, nil, 90},
				{Inbox, 11, ErrQuota, 90}, // one byte too many
				{Sent, 11, ErrQuota, 90},
				{Inbox, 10, nil, 100}, // exactly full
				{Inbox, 0, ErrQuota, 100},
				{Inbox, 1, ErrQuota, 100},
			} {
				beforeAPI, beforeFiles := snap()
				uid, err := deliver(tc.folder, tc.size)
				if !errors.Is(err, tc.want) {
					t.Fatalf("deliver %d bytes to %s: %d, %v; want %v", tc.size, tc.folder, uid, err, tc.want)
				}
				if err != nil {
					var me *Error
					if !errors.As(err, &me) || me.Op != "deliver" || me.User != "u" {
						t.Errorf("error %v is not a *Error naming the delivery", err)
					}
					afterAPI, afterFiles := snap()
					if afterAPI != beforeAPI {
						t.Errorf("a refused delivery changed the mailbox:\n%s\nthen\n%s", beforeAPI, afterAPI)
					}
					if !maps.Equal(beforeFiles, afterFiles) {
						t.Errorf("a refused delivery changed the files: %d then %d", len(beforeFiles), len(afterFiles))
					}
				}
				if u := usage(); u.Bytes != tc.used || u.Limit != limit {
					t.Errorf("after %d bytes to %s: usage %+v, want %d of %d", tc.size, tc.folder, u, tc.used, limit)
				}
			}
			// Full: the message is not even read.
			if _, err := b.Deliver(ctx, Inbox, untouchable{t}, 0, time.Time{}); !errors.Is(err, ErrQuota) {
				t.Errorf("deliver to a full mailbox: %v", err)
			}
			// Expunge frees the space.
			if err := b.Expunge(ctx, Inbox, []uint32{1}); err != nil {
				t.Fatal(err)
			}
			if u := usage(); u.Bytes != 40 || u.Messages != 2 {
				t.Errorf("after expunge: %+v", u)
			}
			if _, err := deliver(Inbox, 60); err != nil {
				t.Errorf("deliver after expunge: %v", err)
			}
			if _, err := deliver(Inbox, 1); !errors.Is(err, ErrQuota) {
				t.Errorf("deliver past the limit after expunge: %v", err)
			}
		})
	}
}

// TestQuotaRace: deliveries racing for the last bytes never take the
// mailbox past its limit.
func TestQuotaRace(t *testing.T) {
	ctx := context.Background()
	const size, fit, n = 50, 3, 12
	for name, s := range quotaStores(t, size*fit+size/2) {
		t.Run(name, func(t *testing.T) {
			b, _ := s.Mailbox(ctx, "u")
			var ok, refused atomic.Int32
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					_, err := b.Deliver(ctx, Inbox, strings.NewReader(strings.Repeat("y", size)), 0, time.Time{})
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, ErrQuota):
						refused.Add(1)
					default:
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if ok.Load() != fit || refused.Load() != n-fit {
				t.Errorf("%d delivered, %d refused; want %d, %d", ok.Load(), refused.Load(), fit, n-fit)
			}
			d, _ := b.List(ctx, Inbox)
			if len(d.Messages) != fit {
				t.Errorf("%d messages stored", len(d.Messages))
			}
		})
	}
}

func TestMaildirsize(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, err := OpenMaildir(root, &MaildirOptions{Quota: 1000})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Mailbox(ctx, "u")
	for _, m := range []string{"12345", "1234567890"} {
		if _, err := b.Deliver(ctx, Inbox, strings.NewReader(m), 0, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Deliver(ctx, Sent, strings.NewReader("abc"), Seen, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Expunge(ctx, Inbox, []uint32{1}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.Dir("u"), "maildirsize")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Recomputed at first use, then a line per change.
	if got, want := string(data), "1000S\n0 0\n5 1\n10 1\n3 1\n-5 -1\n"; got != want {
		t.Errorf("maildirsize:\n%s\nwant\n%s", got, want)
	}

	usage := func(s *Maildir) Usage {
		t.Helper()
		b, _ := s.Mailbox(ctx, "u")
		u, err := b.(Metered).Usage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	want := Usage{Bytes: 13, Messages: 2, Limit: 1000}
	for _, tc := range []struct {
		name string
		file *string // nil: removed
		opts MaildirOptions
		want Usage
	}{
		{"as written", new(string(data)), MaildirOptions{Quota: 1000}, want},
		{"missing", nil, MaildirOptions{Quota: 1000}, want},
		{"cut by a crash", new("1000S\n13 2\n7 1"), MaildirOptions{Quota: 1000}, want},
		{"wrong figures", new("1000S\n999 9\n"), MaildirOptions{Quota: 1000}, want},
		{"negative", new("1000S\n-5 -1\n"), MaildirOptions{Quota: 1000}, want},
		{"garbage", new("\x00\xff\n"), MaildirOptions{Quota: 1000}, want},
		{"other limit", new("500S,10C\n13 2\n"), MaildirOptions{Quota: 1000}, want},
		{"too long", new("1000S\n" + strings.Repeat("0 0\n", 2000)), MaildirOptions{Quota: 1000}, want},
		{"per user", new(string(data)), MaildirOptions{Quota: 1000, UserQuota: func(_ context.Context, user string) (int64, error) {
			return 10 << 30, nil
		}}, Usage{Bytes: 13, Messages: 2, Limit: 10 << 30}},
		{"per user default", new(string(data)), MaildirOptions{Quota: 1000, UserQuota: func(context.Context, string) (int64, error) {
			return -1, nil
		}}, want},
		{"no limit", new(string(data)), MaildirOptions{}, Usage{Bytes: 13, Messages: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(path)
			if tc.file != nil {
				if err := os.WriteFile(path, []byte(*tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			opts := tc.opts
			s, err := OpenMaildir(root, &opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := usage(s); got != tc.want {
				t.Errorf("usage %+v, want %+v", got, tc.want)
			}
			if tc.want.Limit == 0 {
				return
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			q, ok := parseQuota(data)
			if !ok || q.bytes != 13 || q.msgs != 2 || q.limit != tc.want.Limit {
				t.Errorf("maildirsize left as %q", data)
			}
		})
	}
}

// TestQuotaStale: a file saying "over quota" that is older than 15
// minutes is recomputed before a delivery is refused.
func TestQuotaStale(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, _ := OpenMaildir(root, &MaildirOptions{Quota: 100})
	b, _ := s.Mailbox(ctx, "u")
	if _, err := b.Deliver(ctx, Inbox, strings.NewReader("hello"), 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.Dir("u"), "maildirsize")
	// Another program filled it, then removed its message without a line.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("95 1\n")
	f.Close()
	if _, err := b.Deliver(ctx, Inbox, strings.NewReader("x"), 0, time.Time{}); !errors.Is(err, ErrQuota) {
		t.Fatalf("deliver to a mailbox maildirsize says is full: %v", err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(path, old, old)
	if _, err := b.Deliver(ctx, Inbox, strings.NewReader("x"), 0, time.Time{}); err != nil {
		t.Fatalf("deliver after a stale figure: %v", err)
	}
}

// TestQuotaUserError: an error from UserQuota fails the delivery, not
// with ErrQuota, and stores nothing.
func TestQuotaUserError(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("directory down")
	s, _ := OpenMaildir(t.TempDir(), &MaildirOptions{UserQuota: func(context.Context, string) (int64, error) { return 0, boom }})
	b, _ := s.Mailbox(ctx, "u")
	if _, err := b.Deliver(ctx, Inbox, strings.NewReader("x"), 0, time.Time{}); !errors.Is(err, boom) || errors.Is(err, ErrQuota) {
		t.Errorf("Deliver = %v", err)
	}
	if d, _ := b.List(ctx, Inbox); len(d.Messages) != 0 {
		t.Errorf("%d messages stored", len(d.Messages))
	}
}

func TestParseQuota(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		want quotaSum
	}{
		{"1000S\n", true, quotaSum{limit: 1000}},
		{"1000S,20C\n10 1\n-3 -1\n", true, quotaSum{limit: 1000, bytes: 7}},
		{"20C,1000S\n10 1\n", true, quotaSum{limit: 1000, bytes: 10, msgs: 1}},
		{"\n10 1\n", true, quotaSum{bytes: 10, msgs: 1}},
		{"1000S\n 10   1 \n", true, quotaSum{limit: 1000, bytes: 10, msgs: 1}},
		{"", false, quotaSum{}},
		{"1000S", false, quotaSum{}},
		{"1000S\n10 1", false, quotaSum{}},
		{"1000S\n10\n", false, quotaSum{}},
		{"1000S\nx 1\n", false, quotaSum{}},
		{"xS\n", false, quotaSum{}},
		{"1000S\n-1 0\n", false, quotaSum{}},
		{"1000S\n99999999999999999 1\n", false, quotaSum{}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			q, ok := parseQuota([]byte(tc.in))
			if ok != tc.ok || (ok && q != tc.want) {
				t.Errorf("parseQuota(%q) = %+v, %v; want %+v, %v", tc.in, q, ok, tc.want, tc.ok)
			}
		})
	}
}

func FuzzParseQuota(f *testing.F) {
	for _, s := range []string{"1000S\n", "1000S,20C\n10 1\n-3 -1\n", "\n1 1\n", "5S\n1", "0S\n0 0\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		q, ok := parseQuota(data)
		if !ok {
			return
		}
		out := q.marshal()
		q2, ok := parseQuota(out)
		if !ok || q2 != q {
			t.Fatalf("%q → %+v → %q → %+v, %v", data, q, out, q2, ok)
		}
		if out2 := q2.marshal(); string(out2) != string(out) {
			t.Fatalf("marshal not stable: %q then %q", out, out2)
		}
	})
}

// TestQuota10GB: a 10 GB quota is counted exactly, here from ",S=" sizes
// that name big messages without writing them.
func TestQuota10GB(t *testing.T) {
	ctx := context.Background()
	const limit = 10_000_000_000
	s, _ := OpenMaildir(t.TempDir(), &MaildirOptions{Quota: limit})
	b, _ := s.Mailbox(ctx, "u")
	big := int64(limit/2 - 5)
	for i, dir := range []string{"cur", ".Sent/cur"} {
		name := fmt.Sprintf("%d.M1P1.big,S=%d:2,S", 1700000000+i, big)
		if err := os.WriteFile(filepath.Join(s.Dir("u"), dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Deliver(ctx, Inbox, strings.NewReader(strings.Repeat("y", 11)), 0, time.Time{}); !errors.Is(err, ErrQuota) {
		t.Errorf("11 bytes into 10 left: %v", err)
	}
	if _, err := b.Deliver(ctx, Inbox, strings.NewReader(strings.Repeat("y", 10)), 0, time.Time{}); err != nil {
		t.Errorf("10 bytes into 10 left: %v", err)
	}
	u, _ := b.(Metered).Usage(ctx)
	if u.Bytes != limit || u.Messages != 3 {
		t.Errorf("usage %+v", u)
	}
	data, _ := os.ReadFile(filepath.Join(s.Dir("u"), "maildirsize"))
	if !strings.HasPrefix(string(data), "10000000000S\n9999999990 2\n") {
		t.Errorf("maildirsize %q", data)
	}
}
