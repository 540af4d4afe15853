package provider_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
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

// ordinary is a plain SMTP server standing for an ordinary mail domain.
type ordinary struct {
	mu   sync.Mutex
	msgs []ordinaryMsg
	addr string
}

type ordinaryMsg struct {
	from string
	to   []string
	data []byte
}

func newOrdinary(t testing.TB) *ordinary {
	o := &ordinary{}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &ordSession{o: o}, nil }))
	s.Domain = "mx.ordinary.example"
	s.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.addr = l.Addr().String()
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return o
}

func (o *ordinary) messages() []ordinaryMsg {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]ordinaryMsg(nil), o.msgs...)
}

type ordSession struct {
	o    *ordinary
	from string
	to   []string
}

func (s *ordSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *ordSession) Rcpt(to string, _ *smtp.RcptOptions) error   { s.to = append(s.to, to); return nil }
func (s *ordSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.o.mu.Lock()
	s.o.msgs = append(s.o.msgs, ordinaryMsg{s.from, s.to, b})
	s.o.mu.Unlock()
	return nil
}
func (s *ordSession) Reset()        { s.from, s.to = "", nil }
func (s *ordSession) Logout() error { return nil }

// pushIncoming delivers raw bytes to p's incoming point over SMTP with
// STARTTLS, as another provider would.
func pushIncoming(t testing.TB, n *providertest.Network, p *providertest.Provider, from string, rcpts []string, msg []byte) error {
	t.Helper()
	c, err := smtp.DialStartTLS(p.Incoming, n.ClientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.SendMail(from, rcpts, bytes.NewReader(msg))
}

// waitIdle waits until p's spool holds nothing: every message processed to
// the end.
func waitIdle(t testing.TB, p *providertest.Provider) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		sts, err := p.Spool.Pending(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(sts) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, st := range sts {
				t.Logf("pending %s %s steps %v retries %v", st.Item.ID, st.Item.Role, st.Steps, st.Retries)
			}
			t.Fatalf("%s: %d items still in the spool", p.Name, len(sts))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
