package imap

import (
	"context"
	"strings"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/pecsdk/pec/provider/mailbox"
)

const (
	msg1 = "From: Mario <mario@pec.example.it>\r\nTo: luigi@pec.example.it\r\nSubject: POSTA CERTIFICATA: uno\r\nDate: Sun, 1 Mar 2026 10:00:00 +0100\r\nMessage-ID: <1@example.it>\r\n\r\nprima\r\n"
	msg2 = "From: luigi@pec.example.it\r\nSubject: due\r\nDate: Mon, 2 Mar 2026 10:00:00 +0100\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\ncorpo segreto\r\n--b\r\nContent-Type: application/xml; name=daticert.xml\r\n\r\n<postacert/>\r\n--b--\r\n"
)

func stores(t *testing.T) map[string]mailbox.Store {
	md, err := mailbox.OpenMaildir(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]mailbox.Store{"memory": mailbox.NewMemory(), "maildir": md}
}

func TestSession(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) { testSession(t, store) })
	}
}

func testSession(t *testing.T, store mailbox.Store) {
	f := start(t, store, nil)
	f.deliver(t, mailbox.Inbox, msg1, msg2)
	c := f.login(t, nil)

	list, err := c.List("", "*", &goimap.ListOptions{ReturnSpecialUse: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range list {
		names = append(names, l.Mailbox)
		if l.Mailbox == "Sent" && !hasAttr(l.Attrs, goimap.MailboxAttrSent) {
			t.Errorf("Sent lacks \\Sent: %v", l.Attrs)
		}
	}
	if strings.Join(names, ",") != "INBOX,Sent" {
		t.Errorf("LIST = %v", names)
	}

	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 2 || sel.UIDNext != 3 || sel.UIDValidity == 0 {
		t.Errorf("SELECT = %+v", sel)
	}
	msgs, err := c.Fetch(goimap.SeqSetNum(1, 2), &goimap.FetchOptions{
		UID: true, Flags: true, RFC822Size: true, InternalDate: true, Envelope: true,
		BodyStructure: &goimap.FetchItemBodyStructure{Extended: true},
		BodySection:   []*goimap.FetchItemBodySection{{Peek: true}, {Peek: true, Part: []int{2}}},
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("FETCH returned %d messages", len(msgs))
	}
	m := msgs[0]
	if m.UID != 1 || m.RFC822Size != int64(len(msg1)) || len(m.Flags) != 0 || !m.InternalDate.Equal(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("message 1: uid %d size %d flags %v date %v", m.UID, m.RFC822Size, m.Flags, m.InternalDate)
	}
	if m.Envelope == nil || m.Envelope.Subject != "POSTA CERTIFICATA: uno" || m.Envelope.MessageID != "1@example.it" {
		t.Errorf("ENVELOPE = %+v", m.Envelope)
	}
	if string(m.BodySection[0].Bytes) != msg1 {
		t.Errorf("BODY[] = %q", m.BodySection[0].Bytes)
	}
	if mp, ok := msgs[1].BodyStructure.(*goimap.BodyStructureMultiPart); !ok || len(mp.Children) != 2 {
		t.Errorf("BODYSTRUCTURE = %#v", msgs[1].BodyStructure)
	}
	if got := string(msgs[1].BodySection[1].Bytes); got != "<postacert/>" {
		t.Errorf("BODY[2] = %q", got)
	}

	// SEARCH, before anything is seen.
	for _, tc := range []struct {
		name string
		c    goimap.SearchCriteria
		want []uint32
	}{
		{"all", goimap.SearchCriteria{}, []uint32{1, 2}},
		{"unseen", goimap.SearchCriteria{NotFlag: []goimap.Flag{goimap.FlagSeen}}, []uint32{1, 2}},
		{"subject", goimap.SearchCriteria{Header: []goimap.SearchCriteriaHeaderField{{Key: "Subject", Value: "posta certificata"}}}, []uint32{1}},
		{"body", goimap.SearchCriteria{Body: []string{"SEGRETO"}}, []uint32{2}},
		{"larger", goimap.SearchCriteria{Larger: int64(len(msg1))}, []uint32{2}},
		{"sent since", goimap.SearchCriteria{SentSince: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)}, []uint32{2}},
		{"not seq 1", goimap.SearchCriteria{Not: []goimap.SearchCriteria{{SeqNum: []goimap.SeqSet{goimap.SeqSetNum(1)}}}}, []uint32{2}},
	} {
		data, err := c.Search(&tc.c, nil).Wait()
		if err != nil {
			t.Fatalf("SEARCH %s: %v", tc.name, err)
		}
		if got := data.AllSeqNums(); !equal(got, tc.want) {
			t.Errorf("SEARCH %s = %v, want %v", tc.name, got, tc.want)
		}
	}

	// FETCH BODY[] (not PEEK) marks the message seen.
	msgs, err = c.Fetch(goimap.SeqSetNum(2), &goimap.FetchOptions{BodySection: []*goimap.FetchItemBodySection{{}}}).Collect()
	if err != nil || len(msgs) != 1 || !hasFlag(msgs[0].Flags, goimap.FlagSeen) {
		t.Fatalf("FETCH BODY[]: %v %+v", err, msgs)
	}
	if err := c.Store(goimap.SeqSetNum(1), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagDeleted, goimap.FlagFlagged}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	d, _ := f.box(t).List(context.Background(), mailbox.Inbox)
	if d.Messages[0].Flags != mailbox.Deleted|mailbox.Flagged || d.Messages[1].Flags != mailbox.Seen {
		t.Errorf("stored flags %v %v", d.Messages[0].Flags, d.Messages[1].Flags)
	}
	exp, err := c.Expunge().Collect()
	if err != nil || len(exp) != 1 || exp[0] != 1 {
		t.Errorf("EXPUNGE = %v, %v", exp, err)
	}

	// APPEND to Sent, COPY to a new folder, STATUS.
	if err := c.Create("Pratiche", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	app := c.Append("Sent", int64(len(msg1)), &goimap.AppendOptions{Flags: []goimap.Flag{goimap.FlagSeen}})
	app.Write([]byte(msg1))
	app.Close()
	ad, err := app.Wait()
	if err != nil || ad.UID != 1 {
		t.Fatalf("APPEND = %+v, %v", ad, err)
	}
	cd, err := c.Copy(goimap.SeqSetNum(1), "Pratiche").Wait()
	if err != nil || len(cd.DestUIDs) != 1 {
		t.Fatalf("COPY = %+v, %v", cd, err)
	}
	if _, err := c.Copy(goimap.SeqSetNum(1), "Nope").Wait(); err == nil || !strings.Contains(err.Error(), "TRYCREATE") {
		t.Errorf("COPY to a missing folder: %v", err)
	}
	st, err := c.Status("Pratiche", &goimap.StatusOptions{NumMessages: true, NumUnseen: true, UIDNext: true}).Wait()
	if err != nil || *st.NumMessages != 1 || *st.NumUnseen != 0 || st.UIDNext != 2 {
		t.Errorf("STATUS = %+v, %v", st, err)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Error(err)
	}
}

func equal(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func hasAttr(attrs []goimap.MailboxAttr, a goimap.MailboxAttr) bool {
	for _, x := range attrs {
		if x == a {
			return true
		}
	}
	return false
}

func hasFlag(flags []goimap.Flag, f goimap.Flag) bool {
	for _, x := range flags {
		if x == f {
			return true
		}
	}
	return false
}

// TestStartTLSAndPlain logs in with AUTHENTICATE PLAIN after STARTTLS,
// and is refused before it.
func TestStartTLSAndPlain(t *testing.T) {
	f := start(t, nil, nil)
	f.deliver(t, mailbox.Inbox, msg1)
	plainClient, err := imapclient.DialInsecure(f.imap, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plainClient.Close()
	if err := plainClient.Login(user, pass).Wait(); err == nil {
		t.Error("LOGIN accepted in the clear")
	}
	c, err := imapclient.DialStartTLS(f.imap, &imapclient.Options{TLSConfig: f.cert.ClientConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Authenticate(sasl.NewPlainClient("", user, "wrong")); err == nil {
		t.Error("wrong password accepted")
	}
	if err := c.Authenticate(sasl.NewPlainClient("", user, pass)); err != nil {
		t.Fatal(err)
	}
	if sel, err := c.Select("INBOX", &goimap.SelectOptions{ReadOnly: true}).Wait(); err != nil || sel.NumMessages != 1 {
		t.Fatalf("EXAMINE = %+v, %v", sel, err)
	}
	if err := c.Store(goimap.SeqSetNum(1), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagDeleted}}, nil).Close(); err == nil {
		t.Error("STORE in a read-only folder accepted")
	}
	if err := c.Unselect().Wait(); err != nil { // CLOSE-like: no expunge
		t.Error(err)
	}
	if _, err := c.Select("INBOX", &goimap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.UnselectAndExpunge().Wait(); err != nil {
		t.Errorf("CLOSE after EXAMINE: %v", err)
	}
}

// TestUpdates: a delivery and another session's changes reach a session
// in IDLE and one that sends NOOP.
func TestUpdates(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			// No polling during IDLE: the store's notices must do.
			f := start(t, store, &Options{IdlePoll: time.Hour})
			f.deliver(t, mailbox.Inbox, msg1)
			exists := make(chan uint32, 10)
			expunged := make(chan uint32, 10)
			c := f.login(t, &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
				Mailbox: func(d *imapclient.UnilateralDataMailbox) {
					if d.NumMessages != nil {
						exists <- *d.NumMessages
					}
				},
				Expunge: func(seq uint32) { expunged <- seq },
			}})
			if _, err := c.Select("INBOX", nil).Wait(); err != nil {
				t.Fatal(err)
			}
			idle, err := c.Idle()
			if err != nil {
				t.Fatal(err)
			}
			f.deliver(t, mailbox.Inbox, msg2)
			select {
			case n := <-exists:
				if n != 2 {
					t.Errorf("EXISTS %d", n)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no EXISTS during IDLE")
			}
			b := f.box(t)
			b.Expunge(context.Background(), mailbox.Inbox, []uint32{1})
			select {
			case n := <-expunged:
				if n != 1 {
					t.Errorf("EXPUNGE %d", n)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no EXPUNGE during IDLE")
			}
			if err := idle.Close(); err != nil {
				t.Fatal(err)
			}
			if err := idle.Wait(); err != nil {
				t.Fatal(err)
			}
			// FETCH does not report expunges: the message stays numbered.
			b.Deliver(context.Background(), mailbox.Inbox, strings.NewReader(msg1), 0, time.Time{})
			b.Expunge(context.Background(), mailbox.Inbox, []uint32{2})
			msgs, err := c.Fetch(goimap.SeqSetNum(1), &goimap.FetchOptions{UID: true, BodySection: []*goimap.FetchItemBodySection{{Peek: true}}}).Collect()
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 0 {
				t.Errorf("FETCH of an expunged message returned %+v", msgs[0])
			}
			if err := c.Noop().Wait(); err != nil {
				t.Fatal(err)
			}
			select {
			case n := <-expunged:
				if n != 1 {
					t.Errorf("EXPUNGE %d after NOOP", n)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no EXPUNGE after NOOP")
			}
		})
	}
}
