package client

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFolderJournal: records survive a reopen without a clean close; a
// torn last line is dropped; replaying records the snapshot already holds
// changes nothing; a UIDVALIDITY record starts the account again.
func TestFolderJournal(t *testing.T) {
	dir := t.TempDir()
	f, err := openFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []fetchRecord{
		{Account: "imap://a@h/INBOX", UIDValidity: 7, UID: 3},
		{Account: "imap://a@h/INBOX", UIDValidity: 7, UID: 5},
		{Account: "pop3://a@h", UIDL: "x1"},
		{Account: "pop3://a@h", UIDL: "x2"},
	} {
		if err := f.record(r); err != nil {
			t.Fatal(err)
		}
	}
	f.close() // a crash: no snapshot written
	j := filepath.Join(dir, StateFile+journalSuffix)
	fh, err := os.OpenFile(j, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fh.WriteString(`{"a":"imap://a@h/INBOX","v":7,"u":9`) // torn
	fh.Close()

	f, err = openFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	a := f.state.Accounts["imap://a@h/INBOX"]
	p := f.state.Accounts["pop3://a@h"]
	if a == nil || a.UIDValidity != 7 || a.LastUID != 5 || p == nil || strings.Join(p.UIDL, ",") != "x1,x2" {
		t.Fatalf("after replay: %+v %+v", a, p)
	}
	if b, _ := os.ReadFile(j); len(b) != 0 {
		t.Errorf("journal not folded into the snapshot: %q", b)
	}
	// Records the snapshot holds (a crash after the snapshot, before the
	// journal was emptied), then a new UIDVALIDITY.
	for _, r := range []fetchRecord{
		{Account: "imap://a@h/INBOX", UIDValidity: 7, UID: 3},
		{Account: "pop3://a@h", UIDL: "x1"},
		{Account: "imap://a@h/INBOX", UIDValidity: 8},
		{Account: "imap://a@h/INBOX", UIDValidity: 8, UID: 2},
	} {
		if err := f.record(r); err != nil {
			t.Fatal(err)
		}
	}
	f.close()
	if f, err = openFolder(dir); err != nil {
		t.Fatal(err)
	}
	defer f.close()
	a, p = f.state.Accounts["imap://a@h/INBOX"], f.state.Accounts["pop3://a@h"]
	if a.UIDValidity != 8 || a.LastUID != 2 || strings.Join(p.UIDL, ",") != "x1,x2" {
		t.Errorf("after the second replay: %+v %+v", a, p)
	}
}

// TestFolderPut: the same bytes twice are one file; a failed read leaves
// no file.
func TestFolderPut(t *testing.T) {
	dir := t.TempDir()
	f, err := openFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	p1, n, isNew, err := f.put(strings.NewReader("Subject: a\r\n\r\nx\r\n"))
	if err != nil || !isNew || n != 17 {
		t.Fatalf("%s %d %v %v", p1, n, isNew, err)
	}
	p2, _, isNew, err := f.put(strings.NewReader("Subject: a\r\n\r\nx\r\n"))
	if err != nil || isNew || p2 != p1 {
		t.Fatalf("second put: %s %v %v", p2, isNew, err)
	}
	if _, _, _, err := f.put(&failing{}); err == nil {
		t.Fatal("no error from a failing reader")
	}
	es, _ := os.ReadDir(dir)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	if len(names) != 4 { // the message, the snapshot, the journal, the lock
		t.Errorf("folder holds %v", names)
	}
}

type failing struct{ n int }

func (f *failing) Read(p []byte) (int, error) {
	if f.n > 0 {
		return 0, os.ErrDeadlineExceeded
	}
	f.n++
	return copy(p, "Subject: partial"), nil
}

// TestFolderLocked: a second fetch into a folder in use is refused.
func TestFolderLocked(t *testing.T) {
	dir := t.TempDir()
	f, err := openFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openFolder(dir); !errors.Is(err, ErrLocked) {
		t.Errorf("second open: %v, want ErrLocked", err)
	}
	f.close()
	f, err = openFolder(dir)
	if err != nil {
		t.Fatalf("after close: %v", err)
	}
	f.close()
}
