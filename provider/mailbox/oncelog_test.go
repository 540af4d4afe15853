package mailbox

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestOnceLogTorn: a line of pec-once/log cut by a crash is ignored, the
// next record is still read after it, and a record file of an earlier
// version is honoured.
func TestOnceLogTorn(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	open := func() Mailbox {
		t.Helper()
		st, err := OpenMaildir(root, &MaildirOptions{Once: true})
		if err != nil {
			t.Fatal(err)
		}
		mb, err := st.Mailbox(ctx, "bob")
		if err != nil {
			t.Fatal(err)
		}
		return mb
	}
	deliver := func(mb Mailbox, msg string) uint32 {
		t.Helper()
		uid, err := mb.Deliver(ctx, Inbox, bytes.NewReader([]byte(msg)), 0, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return uid
	}
	mb := open()
	if deliver(mb, "first") == 0 {
		t.Fatal("first delivery not stored")
	}
	log := filepath.Join(root, "bob", onceDir, onceLog)
	f, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("0123456789abcdef0123") // what a crash leaves
	f.Close()

	mb = open() // another process: the log read again
	if deliver(mb, "first") != 0 {
		t.Fatal("a repeat stored after a torn line")
	}
	if deliver(mb, "second") == 0 {
		t.Fatal("second delivery not stored")
	}
	mb = open()
	if deliver(mb, "second") != 0 {
		t.Fatal("the record after the torn line not read")
	}
	// A record file of an earlier version.
	fd, err := mb.List(ctx, Inbox)
	if err != nil || len(fd.Messages) != 2 {
		t.Fatalf("List: %v, %v", fd, err)
	}
	os.Remove(log)
	base := "" // the base of "first", from the file name
	ents, _ := os.ReadDir(filepath.Join(root, "bob", "new"))
	for _, e := range ents {
		if b, _ := os.ReadFile(filepath.Join(root, "bob", "new", e.Name())); string(b) == "first" {
			base = e.Name()
		}
	}
	// sha256("first")[:16] in hex
	os.WriteFile(filepath.Join(root, "bob", onceDir, "a7937b64b8caa58f03721bb6bacf5c78"), []byte(base), 0o600)
	mb = open()
	if deliver(mb, "first") != 0 {
		t.Fatal("a record file of an earlier version not honoured")
	}
}
