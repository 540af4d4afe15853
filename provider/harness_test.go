package provider_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/provider/providertest"
	"github.com/pecsdk/pec/receipt"
)

// send submits a draft through p's submission server as user.
func send(t testing.TB, n *providertest.Network, p *providertest.Provider, pass string, d *client.Draft) *client.Submission {
	t.Helper()
	host, port, _ := net.SplitHostPort(p.Submission)
	pn, _ := strconv.Atoi(port)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sub, err := client.Send(ctx, d, &client.SubmitOptions{
		Server:    client.Endpoint{Host: host, Port: pn, Security: client.SecurityTLS},
		TLSConfig: n.ClientTLS(), Username: d.From, Password: pass,
	})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	return sub
}

// rawSubmit submits raw bytes with go-smtp, as user from, to rcpts; it
// returns the SMTP error.
func rawSubmit(t testing.TB, n *providertest.Network, p *providertest.Provider, user, pass, from string, rcpts []string, msg []byte) error {
	t.Helper()
	c, err := smtp.DialTLS(p.Submission, n.ClientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", user, pass)); err != nil {
		return err
	}
	return c.SendMail(from, rcpts, bytes.NewReader(msg))
}

// inbox waits until user's folder at p holds at least want messages, and
// returns them.
func waitMessages(t testing.TB, p *providertest.Provider, user, folder string, want int) [][]byte {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		msgs, err := p.Messages(user, folder)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) >= want || time.Now().After(deadline) {
			if len(msgs) < want {
				t.Fatalf("%s %s: %d messages, want %d", user, folder, len(msgs), want)
			}
			return msgs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kinds verifies each message live against the network's index and returns
// the kinds of those that verify (OK), failing on any that does not.
func kinds(t testing.TB, n *providertest.Network, msgs [][]byte) []pec.Kind {
	t.Helper()
	var out []pec.Kind
	for _, m := range msgs {
		if r, err := receipt.Parse(bytes.NewReader(m), n.VerifyOptions()); err == nil {
			if !r.OK() {
				t.Errorf("%v not OK: %v %v", r.Kind, r.Signature.Summary(), r.Err())
			}
			out = append(out, r.Kind)
			continue
		}
		e, err := envelope.Parse(bytes.NewReader(m), n.VerifyOptions())
		if err != nil {
			t.Errorf("neither a receipt nor an envelope: %v", err)
			continue
		}
		if !e.OK() {
			t.Errorf("%v not OK: %v %v", e.Kind, e.Signature.Summary(), e.Err())
		}
		out = append(out, e.Kind)
	}
	return out
}

func receipts(t testing.TB, n *providertest.Network, msgs [][]byte) []*receipt.Receipt {
	t.Helper()
	var out []*receipt.Receipt
	for _, m := range msgs {
		r, err := receipt.Parse(bytes.NewReader(m), n.VerifyOptions())
		if err != nil {
			t.Fatalf("not a receipt: %v", err)
		}
		out = append(out, r)
	}
	return out
}

var _ = tls.VersionTLS12
var _ = mailbox.Inbox
