package provider_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/provider"
	"github.com/pecsdk/pec/provider/imap"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
	"github.com/pecsdk/pec/receipt"
)

// TestQuotaFull fills bob's Maildir, limited to 20 kB, with certified
// messages from alice until beta refuses one: alice then gets a
// non-delivery notice (errore altro, errore-esteso "5.2.2 - ... - casella
// piena", PEC.md §6.8) in place of the delivery receipt, every file of
// bob's Maildir has the bytes it had before that message (SHA-256), and
// bob sees the quota over IMAP (GETQUOTAROOT, RFC 9208).
func TestQuotaFull(t *testing.T) {
	const limit = 20_000
	var bobStore *mailbox.Maildir
	var bobTLS *tls.Config
	n := providertest.NewNetwork(t, &providertest.Options{Durable: true, Configure: func(name string, c *provider.Config) {
		if name != "beta" {
			return
		}
		// The store beta deposits with: the same Maildirs as the
		// network's, with a limit.
		root := filepath.Dir(c.Store.(*mailbox.Maildir).Dir("x"))
		st, err := mailbox.OpenMaildir(root, &mailbox.MaildirOptions{Once: true, Quota: limit})
		if err != nil {
			t.Fatal(err)
		}
		c.Store, bobStore, bobTLS = st, st, c.TLS
	}})
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	if bobStore == nil {
		t.Fatal("beta's store not replaced")
	}

	var before map[string]string
	var refused *receipt.Receipt
	delivered := 0
	for i := 1; i <= 10 && refused == nil; i++ {
		before = fileSums(t, bobStore.Dir(bob))
		subj := fmt.Sprintf("Riempimento %d", i)
		send(t, n, alpha, "a-pass", &client.Draft{From: alice, To: []string{bob}, Subject: subj,
			Text: strings.Repeat("Testo che occupa spazio nella casella di Bob.\n", 40)})
		// The acceptance and the outcome of each message.
		var outcome *receipt.Receipt
		for _, r := range receipts(t, n, waitMessages(t, alpha, alice, mailbox.Inbox, 2*i)) {
			if r.Data != nil && r.Data.Subject == subj && r.Kind != pec.KindAcceptance {
				outcome = r
			}
		}
		switch {
		case outcome == nil:
			t.Fatalf("%s: no delivery receipt or notice", subj)
		case outcome.Kind == pec.KindDelivery:
			delivered++
		case outcome.Kind == pec.KindDeliveryError:
			refused = outcome
		default:
			t.Fatalf("%s: %v", subj, outcome.Kind)
		}
	}
	if refused == nil || delivered == 0 {
		t.Fatalf("%d delivered, refused: %v; want some delivered, then a refusal", delivered, refused != nil)
	}
	t.Logf("%d messages delivered, the next refused", delivered)
	d := refused.Data
	if !refused.OK() {
		t.Errorf("non-delivery notice does not verify: %v", refused.Err())
	}
	if wantExt := "5.2.2 - " + beta.Name + " - casella piena"; d.Error != pec.ErrorOther || d.ExtendedError != wantExt || d.Delivery != bob {
		t.Errorf("non-delivery notice: errore %q, errore-esteso %q, consegna %q; want %q, %q, %q",
			d.Error, d.ExtendedError, d.Delivery, pec.ErrorOther, wantExt, bob)
	}
	waitIdle(t, beta)
	after := fileSums(t, bobStore.Dir(bob))
	if !maps.Equal(before, after) {
		for p, s := range after {
			if before[p] != s {
				t.Errorf("%s: changed or added by the refused message", p)
			}
		}
		for p := range before {
			if _, ok := after[p]; !ok {
				t.Errorf("%s: removed by the refused message", p)
			}
		}
	}
	if got, err := beta.Messages(bob, mailbox.Inbox); err != nil || len(got) != delivered {
		t.Errorf("bob's INBOX holds %d messages (%v), want %d", len(got), err, delivered)
	}

	// Bob reads the quota over IMAP.
	is := imap.New(bobStore, beta.Accounts, &imap.Options{TLSConfig: bobTLS})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go is.ServeTLS(l)
	t.Cleanup(func() { is.Close() })
	c, err := imapclient.DialTLS(l.Addr().String(), &imapclient.Options{TLSConfig: n.ClientTLS()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(bob, "b-pass").Wait(); err != nil {
		t.Fatal(err)
	}
	qs, err := c.GetQuotaRoot("INBOX").Wait()
	if err != nil || len(qs) != 1 {
		t.Fatalf("GETQUOTAROOT INBOX = %+v, %v", qs, err)
	}
	u, err := mustBox(t, bobStore, bob).(mailbox.Metered).Usage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := qs[0].Resources[goimap.QuotaResourceStorage]
	if r.Limit != (limit+1023)/1024 || r.Usage != (u.Bytes+1023)/1024 || u.Bytes > limit {
		t.Errorf("GETQUOTAROOT: STORAGE %d of %d KiB; store counts %d bytes of %d", r.Usage, r.Limit, u.Bytes, limit)
	}
	t.Logf("GETQUOTAROOT INBOX: STORAGE %d of %d KiB", r.Usage, r.Limit)
	c.Logout().Wait()
}

// fileSums maps every file under dir to its SHA-256.
func fileSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		h := sha256.Sum256(b)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = hex.EncodeToString(h[:])
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

// mustBox opens user's mailbox.
func mustBox(t *testing.T, s mailbox.Store, user string) mailbox.Mailbox {
	t.Helper()
	b, err := s.Mailbox(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
