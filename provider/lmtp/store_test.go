package lmtp

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/sample"
)

const holder, pass = "bob@pec.destinatario.example", "segreta"

// TestDovecot delivers signed messages through the store into a real
// Dovecot, INBOX and Sent, and reads them back over Dovecot's IMAP: byte
// for byte what was delivered, and the envelope still verifies.
func TestDovecot(t *testing.T) {
	dc := startDovecot(t, map[string]string{holder: pass}, "")
	set, err := sample.New(time.Now().Add(-48 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := set.Index()
	if err != nil {
		t.Fatal(err)
	}
	transport := set.Messages[pec.KindTransport]
	receipt := set.Messages[pec.KindAcceptance]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var s mailbox.Store = New(&Options{Address: dc.LMTP, Delimiter: "+"})
	b, err := s.Mailbox(ctx, holder)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Deliver(ctx, mailbox.Inbox, bytes.NewReader(transport), 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Deliver(ctx, mailbox.Sent, bytes.NewReader(receipt), 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.List(ctx, mailbox.Inbox); !errors.Is(err, ErrUnsupported) {
		t.Errorf("List = %v, want ErrUnsupported", err)
	}

	c, err := imapclient.DialTLS(dc.IMAPS, &imapclient.Options{TLSConfig: dc.TLS.ClientConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(holder, pass).Wait(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		folder string
		want   []byte
	}{{mailbox.Inbox, transport}, {mailbox.Sent, receipt}} {
		if _, err := c.Select(tc.folder, nil).Wait(); err != nil {
			t.Fatalf("select %s: %v", tc.folder, err)
		}
		got, err := c.Fetch(goimap.SeqSetNum(1), &goimap.FetchOptions{BodySection: []*goimap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || len(got[0].BodySection) != 1 {
			t.Fatalf("%s: fetched %d messages", tc.folder, len(got))
		}
		// Dovecot's LMTP puts the reverse path first, whatever its
		// configuration; the rest is the delivered message.
		body, ok := bytes.CutPrefix(got[0].BodySection[0].Bytes, []byte("Return-Path: <>\r\n"))
		if !ok {
			t.Errorf("%s: no Return-Path first", tc.folder)
		}
		if !bytes.Equal(body, tc.want) {
			t.Errorf("%s: Dovecot holds %d bytes %.200q, delivered %d bytes %.200q", tc.folder, len(body), body, len(tc.want), tc.want)
		}
		if tc.folder == mailbox.Inbox {
			env, err := envelope.Parse(bytes.NewReader(got[0].BodySection[0].Bytes), &smime.VerifyOptions{Roots: set.PKI.Pool(), Authority: idx})
			if err != nil {
				t.Fatal(err)
			}
			if v := env.Signature; v == nil || !v.Intact || v.Trusted == nil || !*v.Trusted || len(env.Problems) > 0 {
				t.Errorf("the envelope read back does not verify: %+v, problems %v", v, env.Problems)
			}
		}
	}
}

// TestDovecotRefusals: an unknown user is refused by Dovecot, and a folder
// without a delimiter is ErrUnsupported.
func TestDovecotRefusals(t *testing.T) {
	dc := startDovecot(t, map[string]string{holder: pass}, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := New(&Options{Address: dc.LMTP})
	b, _ := s.Mailbox(ctx, "nessuno@pec.destinatario.example")
	_, err := b.Deliver(ctx, mailbox.Inbox, strings.NewReader("Subject: x\r\n\r\n"), 0, time.Time{})
	if se := (*smtp.SMTPError)(nil); !errors.As(err, &se) || se.Code != 550 {
		t.Errorf("delivery to an unknown user: %v, want Dovecot's 550", err)
	}
	b, _ = s.Mailbox(ctx, holder)
	if _, err := b.Deliver(ctx, mailbox.Sent, strings.NewReader("Subject: x\r\n\r\n"), 0, time.Time{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Deliver into Sent without a delimiter = %v, want ErrUnsupported", err)
	}
	if _, err := s.Mailbox(ctx, "a b@x"); !errors.Is(err, mailbox.ErrInvalidUser) {
		t.Errorf("Mailbox(a b@x) = %v, want ErrInvalidUser", err)
	}
}

// TestDovecotQuota: Dovecot's quota plugin refusing a message is
// mailbox.ErrQuota, which the Delivery Point turns into its "casella
// piena" non-delivery notice.
func TestDovecotQuota(t *testing.T) {
	dc := startDovecot(t, map[string]string{holder: pass}, `
mail_plugins = quota
plugin {
  quota = maildir:User quota
  quota_rule = *:storage=1K
}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, _ := New(&Options{Address: dc.LMTP}).Mailbox(ctx, holder)
	if _, err := b.Deliver(ctx, mailbox.Inbox, strings.NewReader("Subject: piccolo\r\n\r\nciao\r\n"), 0, time.Time{}); err != nil {
		t.Fatalf("a small message: %v", err)
	}
	big := "Subject: grande\r\n\r\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n", 64)
	_, err := b.Deliver(ctx, mailbox.Inbox, strings.NewReader(big), 0, time.Time{})
	if !errors.Is(err, mailbox.ErrQuota) {
		t.Fatalf("a message past the quota: %v, want ErrQuota", err)
	}
}
