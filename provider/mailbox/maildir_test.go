package mailbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestMaildirLayout(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, err := OpenMaildir(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Mailbox(ctx, "u@example.it")
	dir := s.Dir("u@example.it")
	for _, p := range []string{"cur", "new", "tmp", ".Sent/cur", ".Sent/new", ".Sent/tmp", ".Sent/maildirfolder"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("missing %s: %v", p, err)
		}
	}
	if _, err := b.Deliver(ctx, Inbox, strings.NewReader("hello"), 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Deliver(ctx, Sent, strings.NewReader("sent!"), Seen|Draft, time.Time{}); err != nil {
		t.Fatal(err)
	}
	news, _ := os.ReadDir(filepath.Join(dir, "new"))
	if len(news) != 1 || !strings.HasSuffix(news[0].Name(), ",S=5") {
		t.Errorf("new/ = %v", news)
	}
	curs, _ := os.ReadDir(filepath.Join(dir, ".Sent", "cur"))
	if len(curs) != 1 || !strings.HasSuffix(curs[0].Name(), ",S=5:2,DS") {
		t.Errorf(".Sent/cur/ = %v", curs)
	}
	tmps, _ := os.ReadDir(filepath.Join(dir, "tmp"))
	if len(tmps) != 0 {
		t.Errorf("tmp/ not empty: %v", tmps)
	}
	list, err := os.ReadFile(filepath.Join(dir, uidListName))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(list)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "3 V") || !strings.Contains(lines[0], " N2 G") || lines[1] != "1 :"+news[0].Name() {
		t.Errorf("dovecot-uidlist = %q", list)
	}

	// A failed delivery leaves nothing behind.
	if _, err := b.Deliver(ctx, Inbox, failingReader{}, 0, time.Time{}); err == nil {
		t.Error("Deliver from a failing reader succeeded")
	}
	tmps, _ = os.ReadDir(filepath.Join(dir, "tmp"))
	news, _ = os.ReadDir(filepath.Join(dir, "new"))
	if len(tmps) != 0 || len(news) != 1 {
		t.Errorf("after a failed delivery: tmp %d, new %d files", len(tmps), len(news))
	}
}

// TestMaildirExternal plays another program on the same folders: a file
// dropped into new/, one renamed into cur/ with flags, one removed. The
// store sees each change and UIDs survive a reopen.
func TestMaildirExternal(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, _ := OpenMaildir(root, nil)
	b, _ := s.Mailbox(ctx, "u")
	for range 3 {
		if _, err := b.Deliver(ctx, Inbox, strings.NewReader("m"), 0, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	d1, _ := b.List(ctx, Inbox)
	dir := s.Dir("u")
	list, _ := os.ReadFile(filepath.Join(dir, uidListName))
	l, err := parseUIDList(strings.NewReader(string(list)))
	if err != nil {
		t.Fatal(err)
	}
	byUID := map[uint32]string{}
	for base, uid := range l.uids {
		byUID[uid] = base
	}
	// Dovecot marks the first message seen, another MDA delivers one,
	// and the third is deleted.
	if err := os.Rename(filepath.Join(dir, "new", byUID[1]), filepath.Join(dir, "cur", byUID[1]+":2,S")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "new", "1700000000.M1P1.other"), []byte("external"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "new", byUID[3])); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)

	// A fresh store (another process, or a restart) and the old one agree.
	s2, _ := OpenMaildir(root, nil)
	b2, _ := s2.Mailbox(ctx, "u")
	for i, box := range []Mailbox{b2, b} {
		d, err := box.List(ctx, Inbox)
		if err != nil {
			t.Fatal(err)
		}
		if d.UIDValidity != d1.UIDValidity || len(d.Messages) != 3 {
			t.Fatalf("store %d: %+v", i, d)
		}
		if m := d.Messages[0]; m.UID != 1 || m.Flags != Seen {
			t.Errorf("store %d: first = %+v", i, m)
		}
		if m := d.Messages[2]; m.UID != 4 || m.Size != 8 {
			t.Errorf("store %d: external = %+v", i, m)
		}
		if got := read(t, box, Inbox, 1); got != "m" {
			t.Errorf("store %d: read %q", i, got)
		}
	}
}

func TestMaildirUIDListV1(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, _ := OpenMaildir(root, nil)
	s.Mailbox(ctx, "u")
	dir := s.Dir("u")
	os.WriteFile(filepath.Join(dir, "cur", "1.M1P1.h:2,S"), []byte("a"), 0o600)
	os.WriteFile(filepath.Join(dir, "new", "2.M1P1.h"), []byte("bb"), 0o600)
	os.WriteFile(filepath.Join(dir, uidListName), []byte("1 777 20\n10 1.M1P1.h:2,S\ngarbage\n12 2.M1P1.h\n"), 0o600)
	s2, _ := OpenMaildir(root, nil)
	b, _ := s2.Mailbox(ctx, "u")
	d, err := b.List(ctx, Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if d.UIDValidity != 777 || d.UIDNext != 20 || len(d.Messages) != 2 || d.Messages[0].UID != 10 || d.Messages[1].UID != 12 {
		t.Errorf("List = %+v", d)
	}
}

// TestMaildirRenamedUnderneath: a file another program renamed since the
// cache last saw it is still opened and its flags still changed.
func TestMaildirRenamedUnderneath(t *testing.T) {
	ctx := context.Background()
	s, _ := OpenMaildir(t.TempDir(), nil)
	b, _ := s.Mailbox(ctx, "u")
	uid, err := b.Deliver(ctx, Inbox, strings.NewReader("hello"), 0, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	dir := s.Dir("u")
	rename := func() {
		t.Helper()
		for _, sub := range []string{"new", "cur"} {
			des, _ := os.ReadDir(filepath.Join(dir, sub))
			for _, de := range des {
				base := parseName(de.Name()).base
				if err := os.Rename(filepath.Join(dir, sub, de.Name()), filepath.Join(dir, "cur", base+":2,F")); err != nil {
					t.Fatal(err)
				}
				return
			}
		}
		t.Fatal("no file")
	}
	rename()
	if got := read(t, b, Inbox, uid); got != "hello" {
		t.Errorf("read %q", got)
	}
	name := mustOne(t, filepath.Join(dir, "cur"))
	if err := os.Rename(filepath.Join(dir, "cur", name), filepath.Join(dir, "cur", parseName(name).base+":2,D")); err != nil {
		t.Fatal(err)
	}
	if err := b.SetFlags(ctx, Inbox, uid, Seen); err != nil {
		t.Fatal(err)
	}
	if got := mustOne(t, filepath.Join(dir, "cur")); !strings.HasSuffix(got, ":2,S") {
		t.Errorf("file %s", got)
	}
}

func mustOne(t *testing.T, dir string) string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil || len(des) != 1 {
		t.Fatalf("%s: %v, %v", dir, des, err)
	}
	return des[0].Name()
}

// TestMaildirForeignUID: a UID another process (Dovecot) gave to a file
// this store has not scanned yet survives this store's next write of
// dovecot-uidlist, and is the one the file gets here too.
func TestMaildirForeignUID(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, _ := OpenMaildir(root, nil)
	b, _ := s.Mailbox(ctx, "u")
	if _, err := b.Deliver(ctx, Inbox, strings.NewReader("one"), 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	dir := s.Dir("u")
	list, _ := os.ReadFile(filepath.Join(dir, uidListName))
	l, err := parseUIDList(strings.NewReader(string(list)))
	if err != nil {
		t.Fatal(err)
	}
	// The other process delivers, numbers the file 7 and rewrites the list.
	os.WriteFile(filepath.Join(dir, "new", "1700000000.M9P9.other"), []byte("foreign"), 0o600)
	l.uids["1700000000.M9P9.other"] = 7
	l.next = 8
	os.WriteFile(filepath.Join(dir, uidListName), l.marshal(), 0o600)

	uid, err := b.Deliver(ctx, Inbox, strings.NewReader("two"), 0, time.Time{})
	if err != nil || uid != 8 {
		t.Fatalf("Deliver = %d, %v; want 8", uid, err)
	}
	for i, box := range []Mailbox{b, mustBox(t, root)} {
		d, err := box.List(ctx, Inbox)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint32
		for _, m := range d.Messages {
			got = append(got, m.UID)
		}
		if len(got) != 3 || got[0] != 1 || got[1] != 7 || got[2] != 8 || d.UIDNext != 9 {
			t.Errorf("store %d: uids %v, next %d", i, got, d.UIDNext)
		}
		if r := read(t, box, Inbox, 7); r != "foreign" {
			t.Errorf("store %d: uid 7 = %q", i, r)
		}
	}
}

func mustBox(t *testing.T, root string) Mailbox {
	t.Helper()
	s, err := OpenMaildir(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Mailbox(context.Background(), "u")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMaildirUIDListCompacts: dovecot-uidlist grows by appended lines,
// and is rewritten once mostly stale; a fresh store reads the same UIDs.
func TestMaildirUIDListCompacts(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, _ := OpenMaildir(root, nil)
	b, _ := s.Mailbox(ctx, "u")
	var uids []uint32
	for i := range 300 {
		uid, err := b.Deliver(ctx, Inbox, strings.NewReader(fmt.Sprint(i)), 0, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(uids) > 0 && uid != uids[len(uids)-1]+1 {
			t.Fatalf("uid %d after %d", uid, uids[len(uids)-1])
		}
		uids = append(uids, uid)
		if i%3 != 2 {
			if err := b.Expunge(ctx, Inbox, []uint32{uid}); err != nil {
				t.Fatal(err)
			}
		}
	}
	data, _ := os.ReadFile(filepath.Join(s.Dir("u"), uidListName))
	lines := strings.Count(string(data), "\n") - 1
	if lines > 2*100+64 {
		t.Errorf("dovecot-uidlist holds %d records for 100 messages", lines)
	}
	want, _ := b.List(ctx, Inbox)
	got, err := mustBox(t, root).List(ctx, Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 100 || got.UIDNext != want.UIDNext || got.UIDValidity != want.UIDValidity {
		t.Fatalf("fresh store: %d messages, next %d", len(got.Messages), got.UIDNext)
	}
	for i := range got.Messages {
		if got.Messages[i].UID != want.Messages[i].UID {
			t.Fatalf("message %d: uid %d, want %d", i, got.Messages[i].UID, want.Messages[i].UID)
		}
	}
}

// TestMaildirExpungeRenamed: a message whose file another program renamed
// since the cache saw it is still removed, and does not come back.
func TestMaildirExpungeRenamed(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, _ := OpenMaildir(root, nil)
	b, _ := s.Mailbox(ctx, "u")
	uid, _ := b.Deliver(ctx, Inbox, strings.NewReader("x"), 0, time.Time{})
	b.Deliver(ctx, Inbox, strings.NewReader("y"), 0, time.Time{})
	b.List(ctx, Inbox)
	dir := s.Dir("u")
	list, _ := os.ReadFile(filepath.Join(dir, uidListName))
	l, _ := parseUIDList(strings.NewReader(string(list)))
	for base, u := range l.uids {
		if u == uid {
			if err := os.Rename(filepath.Join(dir, "new", base), filepath.Join(dir, "cur", base+":2,S")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := b.Expunge(ctx, Inbox, []uint32{uid}); err != nil {
		t.Fatal(err)
	}
	for i, box := range []Mailbox{b, mustBox(t, root)} {
		d, _ := box.List(ctx, Inbox)
		if len(d.Messages) != 1 || d.Messages[0].UID == uid {
			t.Errorf("store %d after expunge: %+v", i, d.Messages)
		}
	}
}

// TestMaildirCleansTmp: files a dead delivery left in tmp/ go after 36
// hours, recent ones stay.
func TestMaildirCleansTmp(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, _ := OpenMaildir(root, nil)
	s.Mailbox(ctx, "u")
	tmp := filepath.Join(s.Dir("u"), "tmp")
	old, recent := filepath.Join(tmp, "old"), filepath.Join(tmp, "recent")
	os.WriteFile(old, []byte("x"), 0o600)
	os.WriteFile(recent, []byte("x"), 0o600)
	then := time.Now().Add(-37 * time.Hour)
	os.Chtimes(old, then, then)
	b := mustBox(t, root)
	if _, err := b.List(ctx, Inbox); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("stale tmp file kept: %v", err)
	}
	if _, err := os.Stat(recent); err != nil {
		t.Errorf("recent tmp file removed: %v", err)
	}
}

// TestMaildirLock: Dovecot's lock file is waited for, a stale one is
// removed, and one that stays makes the delivery fail with ErrLocked,
// leaving nothing behind.
func TestMaildirLock(t *testing.T) {
	ctx := context.Background()
	s, _ := OpenMaildir(t.TempDir(), &MaildirOptions{LockTimeout: 200 * time.Millisecond, StaleLock: time.Hour})
	b, _ := s.Mailbox(ctx, "u")
	if _, err := b.Deliver(ctx, Inbox, strings.NewReader("first"), 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(s.Dir("u"), uidListName+".lock")

	os.WriteFile(lock, nil, 0o600)
	_, err := b.Deliver(ctx, Inbox, strings.NewReader("held"), 0, time.Time{})
	var me *Error
	if !errors.Is(err, ErrLocked) || !errors.As(err, &me) || me.Folder != Inbox || !strings.Contains(err.Error(), "u/INBOX") {
		t.Errorf("Deliver under a held lock = %v", err)
	}
	if d, _ := b.List(ctx, Inbox); len(d.Messages) != 1 {
		t.Errorf("a refused delivery left %d messages", len(d.Messages))
	}

	go func() {
		time.Sleep(50 * time.Millisecond)
		os.Remove(lock)
	}()
	if _, err := b.Deliver(ctx, Inbox, strings.NewReader("waited"), 0, time.Time{}); err != nil {
		t.Errorf("Deliver after the lock went = %v", err)
	}

	os.WriteFile(lock, nil, 0o600)
	then := time.Now().Add(-2 * time.Hour)
	os.Chtimes(lock, then, then)
	if _, err := b.Deliver(ctx, Inbox, strings.NewReader("stale"), 0, time.Time{}); err != nil {
		t.Errorf("Deliver past a stale lock = %v", err)
	}
	if d, _ := b.List(ctx, Inbox); len(d.Messages) != 3 {
		t.Errorf("%d messages, want 3", len(d.Messages))
	}
}

func TestParseFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Flags
		ok   bool
	}{
		{`\Seen`, Seen, true}, {"seen", Seen, true}, {`\DELETED`, Deleted, true}, {`\Draft`, Draft, true},
		{`\Recent`, 0, false}, {"$Label1", 0, false}, {"", 0, false},
	} {
		got, ok := ParseFlag(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseFlag(%q) = %v, %v", tc.in, got, ok)
		}
	}
	if s := (Seen | Answered | Flagged | Deleted | Draft).String(); s != `\Seen \Answered \Flagged \Deleted \Draft` {
		t.Errorf("String = %q", s)
	}
}

func TestMaildirFileMode(t *testing.T) {
	umask := syscall.Umask(0)
	syscall.Umask(umask)
	ctx := context.Background()
	s, _ := OpenMaildir(t.TempDir(), &MaildirOptions{FileMode: 0o640})
	b, _ := s.Mailbox(ctx, "u")
	if _, err := b.Deliver(ctx, Sent, strings.NewReader("x"), Seen, time.Time{}); err != nil {
		t.Fatal(err)
	}
	want := map[string]os.FileMode{
		s.Dir("u"): 0o750, filepath.Join(s.Dir("u"), ".Sent", "cur"): 0o750,
		filepath.Join(s.Dir("u"), ".Sent", uidListName):                                                  0o640,
		filepath.Join(s.Dir("u"), ".Sent", "cur", mustOne(t, filepath.Join(s.Dir("u"), ".Sent", "cur"))): 0o640,
	}
	for p, m := range want {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != m&^os.FileMode(umask) {
			t.Errorf("%s: mode %o, want %o", p, got, m&^os.FileMode(umask))
		}
	}
}
