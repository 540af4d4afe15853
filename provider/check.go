package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/mail"
	"strings"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
)

// checked is the outcome of the access point's checks (PEC.md §11.1).
type checked struct {
	Fail       string          `json:"fail,omitempty"`  // the formal check that failed (items 2–8)
	Virus      string          `json:"virus,omitempty"` // what the scan found (item 9)
	Recipients []pec.Recipient `json:"rcpt"`            // To and Cc, certificato or esterno (item 10)
}

// certified returns the certificato recipients.
func (c *checked) certified() []string {
	var out []string
	for _, r := range c.Recipients {
		if r.Type == pec.RecipientCertified {
			out = append(out, r.Address)
		}
	}
	return out
}

// check makes the checks of PEC.md §11.1 items 2 to 10, in order, on a
// message submitted by the authenticated from (item 1 and the MAIL FROM were
// checked in the SMTP session). The error is for a scan that could not be
// made.
func (p *Provider) check(ctx context.Context, from string, rcpts []string, body []byte) (*checked, error) {
	c := &checked{}
	fail := func(format string, a ...any) (*checked, error) {
		c.Fail = fmt.Sprintf(format, a...)
		if len(c.Recipients) == 0 {
			for _, r := range rcpts {
				c.Recipients = append(c.Recipients, p.classify(r))
			}
		}
		return c, nil
	}
	msg, err := mail.ReadMessage(bytes.NewReader(body)) // item 2
	if err != nil {
		return fail("messaggio non conforme a RFC 5322: %v", err)
	}
	h := msg.Header
	froms := h["From"] // item 3
	if len(froms) != 1 {
		return fail("il messaggio deve avere un solo campo From (ne ha %d)", len(froms))
	}
	fa, err := mail.ParseAddressList(froms[0])
	if err != nil || len(fa) != 1 {
		return fail("campo From non valido")
	}
	var listed []string
	for _, f := range []string{"To", "Cc"} {
		for _, v := range h[f] {
			as, err := mail.ParseAddressList(v)
			if err != nil {
				return fail("campo %s non valido: %v", f, err)
			}
			for _, a := range as {
				listed = append(listed, a.Address)
				c.Recipients = append(c.Recipients, p.classify(a.Address))
			}
		}
		if f == "To" && len(listed) == 0 { // item 4
			return fail("campo To assente o vuoto")
		}
	}
	if userName(fa[0].Address) != userName(from) { // item 5
		return fail("il mittente SMTP (%s) non è l'indirizzo del campo From (%s)", from, fa[0].Address)
	}
	for _, r := range rcpts { // item 6
		if !containsAddr(listed, r) {
			return fail("il destinatario %s non è tra i destinatari To e Cc", r)
		}
	}
	for _, v := range h["Bcc"] { // item 7
		if strings.TrimSpace(v) != "" {
			return fail("il messaggio contiene destinatari in copia nascosta (Bcc)")
		}
	}
	if total := int64(len(body)) * int64(len(rcpts)); total > p.cfg.MaxTotal { // item 8
		return fail("dimensione del messaggio per numero di destinatari (%d byte) oltre il limite di %d byte", total, p.cfg.MaxTotal)
	}
	name, err := p.cfg.Scanner.Scan(ctx, body) // item 9
	if err != nil {
		return nil, err
	}
	c.Virus = name
	return c, nil
}

// classify tells a certified recipient from an ordinary one by the index
// (PEC.md §11.1 item 10).
func (p *Provider) classify(addr string) pec.Recipient {
	t := pec.RecipientExternal
	if _, ok := p.cfg.Index.Domain(domainOf(addr)); ok || p.ours(addr) {
		t = pec.RecipientCertified
	}
	return pec.Recipient{Address: addr, Type: t}
}

// submission reads back what the access point needs from a spooled
// submission: the outcome of the checks and the certification data of the
// transport envelope (PEC.md §8.2), dated at acceptance (PEC.md §10.1).
func (w *work) submission() (*checked, *daticert.Data, error) {
	it := &w.st.Item
	c, err := w.checkedOnly()
	if err != nil {
		return nil, nil, err
	}
	d := &daticert.Data{
		Type: pec.CertTransport, Error: pec.ErrorNone, Sender: it.From,
		Recipients: c.Recipients, ReplyTo: it.From, Provider: w.p.cfg.Name,
		Time: pec.Local(it.Received), ID: it.Meta["id"], ReceiptType: pec.ReceiptFull,
	}
	if msg, err := mail.ReadMessage(bytes.NewReader(w.body)); err == nil {
		h := msg.Header
		if s, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); err == nil {
			d.Subject = s
		} else {
			d.Subject = h.Get("Subject")
		}
		d.MsgID = strings.TrimSpace(h.Get("Message-Id"))
		if v := h.Get("Reply-To"); v != "" {
			if a, err := mail.ParseAddress(v); err == nil {
				d.ReplyTo = a.Address
			}
		}
		if v := h.Get(pec.HeaderReceiptType); v != "" {
			if rt, err := pec.ParseReceiptType(v); err == nil {
				d.ReceiptType = rt
			}
		}
	}
	return c, d, nil
}

// checkedOnly reads back the outcome of the checks of a spooled submission.
func (w *work) checkedOnly() (*checked, error) {
	c := &checked{}
	if err := json.Unmarshal([]byte(w.st.Item.Meta["check"]), c); err != nil {
		return nil, fmt.Errorf("spool item %s: %v", w.st.Item.ID, err)
	}
	return c, nil
}
