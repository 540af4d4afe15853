package provider_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
)

func TestAcrossProviders(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	send(t, n, alpha, "a-pass", &client.Draft{From: alice, To: []string{bob}, Subject: "Prova", Text: "Ciao Bob."})

	got := kinds(t, n, waitMessages(t, alpha, alice, mailbox.Inbox, 2))
	slices.Sort(got)
	if want := []pec.Kind{pec.KindAcceptance, pec.KindDelivery}; !slices.Equal(got, want) {
		t.Fatalf("alice got %v, want %v", got, want)
	}
	if got := kinds(t, n, waitMessages(t, beta, bob, mailbox.Inbox, 1)); !slices.Equal(got, []pec.Kind{pec.KindTransport}) {
		t.Fatalf("bob got %v", got)
	}
	if got := kinds(t, n, waitMessages(t, alpha, alpha.MailReceipt, mailbox.Inbox, 1)); !slices.Equal(got, []pec.Kind{pec.KindTakeInCharge}) {
		t.Fatalf("alpha's service mailbox got %v", got)
	}
	waitMessages(t, alpha, alice, mailbox.Sent, 1)
}

func TestOrdinaryRecipient(t *testing.T) {
	o := newOrdinary(t)
	n := providertest.NewNetwork(t, &providertest.Options{Routes: map[string]string{"ordinary.example": o.addr}})
	alpha := n.Provider("alpha")
	alice := alpha.AddUser("alice", "a-pass")
	send(t, n, alpha, "a-pass", &client.Draft{From: alice, To: []string{"carol@ordinary.example"}, Subject: "Ordinaria", Text: "Ciao."})
	waitIdle(t, alpha)
	msgs := waitMessages(t, alpha, alice, mailbox.Inbox, 1)
	rs := receipts(t, n, msgs)
	if len(rs) != 1 || rs[0].Kind != pec.KindAcceptance {
		t.Fatalf("alice got %d messages, want the acceptance only", len(rs))
	}
	if got := rs[0].Data.RecipientsOfType(pec.RecipientExternal); !slices.Equal(got, []string{"carol@ordinary.example"}) {
		t.Errorf("esterno recipients %v", got)
	}
	om := o.messages()
	if len(om) != 1 {
		t.Fatalf("ordinary server got %d messages", len(om))
	}
	if got := kinds(t, n, [][]byte{om[0].data}); !slices.Equal(got, []pec.Kind{pec.KindTransport}) {
		t.Errorf("ordinary server got %v", got)
	}
	if om[0].from != alice {
		t.Errorf("reverse path %q, want the original sender", om[0].from)
	}
}

func TestUnknownRecipient(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	send(t, n, alpha, "a-pass", &client.Draft{From: alice, To: []string{"nobody@" + beta.Domain}, Subject: "Nessuno", Text: "?"})
	waitIdle(t, alpha)
	waitIdle(t, beta)
	rs := receipts(t, n, waitMessages(t, alpha, alice, mailbox.Inbox, 2))
	var nd *pec.Error
	for _, r := range rs {
		if r.Kind == pec.KindDeliveryError {
			if !r.OK() {
				t.Errorf("non-delivery not OK: %s", r.Signature.Summary())
			}
			errors.As(r.Err(), &nd)
		}
	}
	if nd == nil || nd.Code != pec.ErrorNoDest || nd.Recipient != "nobody@"+beta.Domain {
		t.Fatalf("non-delivery %+v, want no-dest for nobody", nd)
	}
}

func TestSendAsAnother(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	alpha := n.Provider("alpha")
	alice := alpha.AddUser("alice", "a-pass")
	bob := alpha.AddUser("bob", "b-pass")
	msg := []byte("From: " + bob + "\r\nTo: " + alice + "\r\nSubject: x\r\n\r\nx\r\n")
	err := rawSubmit(t, n, alpha, alice, "a-pass", bob, []string{alice}, msg)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 553 {
		t.Fatalf("sending as bob: %v, want 553", err)
	}
	if err := rawSubmit(t, n, alpha, alice, "wrong", alice, []string{alice}, msg); err == nil {
		t.Fatal("wrong password accepted")
	}
	time.Sleep(100 * time.Millisecond)
	if msgs, _ := alpha.Messages(bob, mailbox.Inbox); len(msgs) != 0 {
		t.Fatalf("bob got %d messages", len(msgs))
	}
}

func TestFormalChecks(t *testing.T) {
	n := providertest.NewNetwork(t, nil)
	alpha, beta := n.Provider("alpha"), n.Provider("beta")
	alice := alpha.AddUser("alice", "a-pass")
	bob := beta.AddUser("bob", "b-pass")
	carol := beta.AddUser("carol", "c-pass")
	for i, tc := range []struct {
		name  string
		rcpts []string
		msg   string
	}{
		{"rcpt not in To or Cc", []string{bob, carol}, "From: " + alice + "\r\nTo: " + bob + "\r\nSubject: a\r\n\r\nx\r\n"},
		{"Bcc", []string{bob}, "From: " + alice + "\r\nTo: " + bob + "\r\nBcc: " + carol + "\r\nSubject: b\r\n\r\nx\r\n"},
		{"no To", []string{bob}, "From: " + alice + "\r\nCc: " + bob + "\r\nSubject: c\r\n\r\nx\r\n"},
		{"From differs", []string{bob}, "From: " + carol + "\r\nTo: " + bob + "\r\nSubject: d\r\n\r\nx\r\n"},
		{"two From", []string{bob}, "From: " + alice + "\r\nFrom: " + alice + "\r\nTo: " + bob + "\r\nSubject: e\r\n\r\nx\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := rawSubmit(t, n, alpha, alice, "a-pass", alice, tc.rcpts, []byte(tc.msg)); err != nil {
				t.Fatal(err)
			}
			rs := receipts(t, n, waitMessages(t, alpha, alice, mailbox.Inbox, i+1))
			r := rs[i]
			if r.Kind != pec.KindNonAcceptance || !r.OK() {
				t.Fatalf("got %v (OK %v), want a non-acceptance", r.Kind, r.OK())
			}
		})
	}
	waitIdle(t, alpha)
	if msgs, _ := beta.Messages(bob, mailbox.Inbox); len(msgs) != 0 {
		t.Fatalf("bob got %d messages", len(msgs))
	}
}
