package provider_test

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/provider"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
)

// Same provider: the full flow, presa in carico included (PEC.md §11.5).
func TestSameProvider(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	alpha := n.Provider("alpha")
	alice := alpha.AddUser("alice", "a-pass")
	carol := alpha.AddUser("carol", "c-pass")
	send(t, n, alpha, "a-pass", &client.Draft{From: alice, To: []string{carol}, Subject: "Vicina", Text: "Ciao."})
	got := kinds(t, n, waitMessages(t, alpha, alice, mailbox.Inbox, 2))
	slices.Sort(got)
	if want := []pec.Kind{pec.KindAcceptance, pec.KindDelivery}; !slices.Equal(got, want) {
		t.Fatalf("alice got %v", got)
	}
	if got := kinds(t, n, waitMessages(t, alpha, carol, mailbox.Inbox, 1)); !slices.Equal(got, []pec.Kind{pec.KindTransport}) {
		t.Fatalf("carol got %v", got)
	}
	if got := kinds(t, n, waitMessages(t, alpha, alpha.MailReceipt, mailbox.Inbox, 1)); !slices.Equal(got, []pec.Kind{pec.KindTakeInCharge}) {
		t.Fatalf("service mailbox got %v", got)
	}
	waitIdle(t, alpha)
}

// Receipt types: breve for To with the attachment's hash, sintetica for Cc
// (PEC.md §6.7); one presa in carico for the transaction, listing both.
func TestReceiptTypes(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	carol := beta.AddUser("carol", "c-pass")
	send(t, n, alpha, "a-pass", &client.Draft{
		From: alice, To: []string{bob}, Cc: []string{carol}, Subject: "Allegato", Text: "Vedi allegato.",
		ReceiptType: pec.ReceiptShort,
		Attachments: []client.Attachment{{Name: "contratto.txt", ContentType: "text/plain", Content: strings.NewReader("clausole")}},
	})
	rs := receipts(t, n, waitMessages(t, alpha, alice, mailbox.Inbox, 3))
	byRcpt := map[string]pec.Kind{}
	for _, r := range rs {
		if r.Kind.IsDelivery() {
			byRcpt[r.Data.Delivery] = r.Kind
			if r.Kind == pec.KindDeliveryShort {
				ok, err := r.CheckAttachment("contratto.txt", strings.NewReader("clausole"))
				if err != nil || !ok {
					t.Errorf("breve hash of contratto.txt: %v %v (hashes %v)", ok, err, r.Hashes)
				}
			}
		}
	}
	if byRcpt[bob] != pec.KindDeliveryShort || byRcpt[carol] != pec.KindDeliverySummary {
		t.Fatalf("delivery kinds %v", byRcpt)
	}
	pic := receipts(t, n, waitMessages(t, alpha, alpha.MailReceipt, mailbox.Inbox, 1))
	if len(pic) != 1 || !slices.Equal(lowerAll(pic[0].Data.Receipts), []string{bob, carol}) {
		t.Fatalf("presa in carico: %d, ricezione %v", len(pic), pic[0].Data.Receipts)
	}
}

func lowerAll(s []string) []string {
	out := slices.Clone(s)
	for i := range out {
		out[i] = strings.ToLower(out[i])
	}
	slices.Sort(out)
	return out
}

// SASL LOGIN and STARTTLS are what many mail clients use on port 587.
func TestLoginMechanism(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	alpha := n.Provider("alpha")
	alice := alpha.AddUser("alice", "a-pass")
	c, err := smtp.DialTLS(alpha.Submission, n.ClientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewLoginClient(alice, "wrong")); err == nil {
		t.Fatal("LOGIN with a wrong password accepted")
	}
	if err := c.Auth(sasl.NewLoginClient(alice, "a-pass")); err != nil {
		t.Fatalf("LOGIN: %v", err)
	}
	msg := "From: " + alice + "\r\nTo: " + alice + "\r\nSubject: io\r\n\r\nx\r\n"
	if err := c.SendMail(alice, []string{alice}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	waitMessages(t, alpha, alice, mailbox.Inbox, 3) // acceptance, envelope, delivery
}

// Submission before authentication is refused, and AUTH before TLS too.
func TestSubmissionNeedsAuthAndTLS(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	alpha := n.Provider("alpha")
	alice := alpha.AddUser("alice", "a-pass")
	c, err := smtp.DialTLS(alpha.Submission, n.ClientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.SendMail(alice, []string{alice}, strings.NewReader("From: "+alice+"\r\n\r\nx\r\n"))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 530 {
		t.Fatalf("unauthenticated MAIL: %v, want 530", err)
	}
}

// A mailbox that refuses ordinary mail gets it refused at SMTP; one that
// accepts it gets it in an anomaly envelope (PEC.md §11.2).
func TestOrdinaryMailRefusedOrWrapped(t *testing.T) {
	n := providertest.NewNetwork(t, &providertest.Options{Configure: func(name string, c *provider.Config) {
		c.RefuseOrdinary = func(user string) bool { return strings.HasPrefix(user, "strict@") }
	}})
	beta := n.Provider("beta")
	strict := beta.AddUser("strict", "s-pass")
	open := beta.AddUser("open", "o-pass")
	msg := []byte("From: someone@ordinary.example\r\nTo: " + strict + "\r\nSubject: ciao\r\n\r\nordinary\r\n")
	err := pushIncoming(t, n, beta, "someone@ordinary.example", []string{strict}, msg)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 {
		t.Fatalf("ordinary mail to a strict mailbox: %v, want 550", err)
	}
	if err := pushIncoming(t, n, beta, "someone@ordinary.example", []string{open}, msg); err != nil {
		t.Fatal(err)
	}
	got := waitMessages(t, beta, open, mailbox.Inbox, 1)
	if k := kinds(t, n, got); !slices.Equal(k, []pec.Kind{pec.KindAnomaly}) {
		t.Fatalf("open got %v", k)
	}
	if !bytes.Contains(got[0], []byte("ordinary")) {
		t.Error("the anomaly envelope lacks the message")
	}
	// Relaying through the incoming point is refused.
	err = pushIncoming(t, n, beta, "someone@ordinary.example", []string{"x@elsewhere.example"}, msg)
	if !errors.As(err, &se) || se.Code != 550 {
		t.Fatalf("relay: %v, want 550", err)
	}
	_ = io.EOF
}

// One message to a recipient at another provider, one at the sender's own
// and one ordinary: one acceptance listing all three, a delivery receipt for
// each certified recipient, the envelope as ordinary mail for the third.
func TestMixedRecipients(t *testing.T) {
	o := newOrdinary(t)
	n := providertest.NewNetwork(t, &providertest.Options{Routes: map[string]string{"ordinary.example": o.addr}})
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	carol := alpha.AddUser("carol", "c-pass")
	bob := beta.AddUser("bob", "b-pass")
	dan := "dan@ordinary.example"
	send(t, n, alpha, "a-pass", &client.Draft{From: alice, To: []string{bob, carol}, Cc: []string{dan}, Subject: "Tutti", Text: "x"})
	rs := receipts(t, n, waitMessages(t, alpha, alice, mailbox.Inbox, 3))
	waitIdle(t, alpha)
	waitIdle(t, beta)
	rs = receipts(t, n, mustMessages(t, alpha, alice))
	var delivered []string
	for _, r := range rs {
		if !r.OK() {
			t.Errorf("%v not OK", r.Kind)
		}
		switch {
		case r.Kind == pec.KindAcceptance:
			if got := r.Data.RecipientsOfType(pec.RecipientCertified); len(got) != 2 {
				t.Errorf("certificato %v", got)
			}
			if got := r.Data.RecipientsOfType(pec.RecipientExternal); !slices.Equal(got, []string{dan}) {
				t.Errorf("esterno %v", got)
			}
		case r.Kind.IsDelivery():
			delivered = append(delivered, r.Data.Delivery)
		default:
			t.Errorf("unexpected %v", r.Kind)
		}
	}
	slices.Sort(delivered)
	if want := []string{bob, carol}; !slices.Equal(delivered, want) {
		t.Fatalf("delivered %v, want %v", delivered, want)
	}
	if om := o.messages(); len(om) != 1 || !slices.Equal(om[0].to, []string{dan}) {
		t.Fatalf("ordinary server got %d messages", len(om))
	}
}

func mustMessages(t *testing.T, p *providertest.Provider, user string) [][]byte {
	t.Helper()
	msgs, err := p.Messages(user, mailbox.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// Size × recipients over the limit gets a non-acceptance; a message over
// the limit by itself is refused at SMTP (PEC.md §11.1 item 8, §6.4).
func TestSizeLimit(t *testing.T) {
	n := providertest.NewNetwork(t, &providertest.Options{Configure: func(name string, c *provider.Config) {
		c.MaxTotal = 2000
	}})
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	carol := beta.AddUser("carol", "c-pass")
	body := strings.Repeat("x", 1200)
	msg := "From: " + alice + "\r\nTo: " + bob + ", " + carol + "\r\nSubject: grande\r\n\r\n" + body + "\r\n"
	if err := rawSubmit(t, n, alpha, alice, "a-pass", alice, []string{bob, carol}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	rs := receipts(t, n, waitMessages(t, alpha, alice, mailbox.Inbox, 1))
	if rs[0].Kind != pec.KindNonAcceptance {
		t.Fatalf("got %v, want a non-acceptance", rs[0].Kind)
	}
	big := "From: " + alice + "\r\nTo: " + bob + "\r\nSubject: enorme\r\n\r\n" + strings.Repeat(strings.Repeat("y", 70)+"\r\n", 40)
	err := rawSubmit(t, n, alpha, alice, "a-pass", alice, []string{bob}, []byte(big))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 552 {
		t.Fatalf("message over the limit: %v, want 552", err)
	}
}
