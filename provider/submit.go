package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/receipt"
)

// Steps of an access item.
const (
	stepNonAcceptance = "non-acceptance"
	stepCertify       = "certify" // the acceptance and the transport envelope
	stepRelay         = "relay"
)

// certification is the output of the certify step: what the access point
// signed for an accepted message.
type certification struct {
	Acceptance []byte `json:"acceptance"`
	Envelope   []byte `json:"envelope"`
}

// access processes a submission the access point spooled (PEC.md §11.1,
// §11.4): the non-acceptance, or the acceptance, the transport envelope, the
// copy in Sent and the relays; then it follows the certified recipients
// until each has an outcome (timeouts.go).
func (w *work) access(ctx context.Context) error {
	p := w.p
	c, env, err := w.submission()
	if err != nil {
		return err
	}
	if c.Fail != "" || c.Virus != "" {
		k, why := pec.KindNonAcceptance, c.Fail
		if c.Virus != "" {
			k, why = pec.KindNonAcceptanceVirus, c.Virus
		}
		d := receipt.NewData(k, env, p.cfg.Name, env.Time, nil, why)
		if err := w.notify(ctx, stepNonAcceptance, k, d, func() ([]byte, error) { return p.build(k, d, nil) }); err != nil {
			return err
		}
		return p.cfg.Spool.Complete(ctx, w.st.Item.ID)
	}
	// The acceptance and the transport envelope share one temporal
	// reference (PEC.md §10.1) and one commit.
	acc := receipt.NewData(pec.KindAcceptance, env, p.cfg.Name, env.Time, nil, "")
	out, err := w.emit(ctx, stepCertify, func() ([]byte, error) {
		var c certification
		var err error
		if c.Acceptance, err = p.build(pec.KindAcceptance, acc, nil); err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := envelope.Build(&b, bytes.NewReader(w.body), env, p.cfg.Signer, nil); err != nil {
			return nil, err
		}
		c.Envelope = b.Bytes()
		return json.Marshal(&c)
	})
	if err != nil {
		return err
	}
	var cert certification
	if err := json.Unmarshal(out, &cert); err != nil {
		return err
	}
	if err := w.once(ctx, stepCertify+".sent", func() error {
		if err := p.deposit(ctx, env.Sender, mailbox.Inbox, cert.Acceptance, env.Time); err != nil {
			return err
		}
		if err := p.deposit(ctx, w.st.Item.User, mailbox.Sent, w.body, env.Time); err != nil {
			return err
		}
		return p.record(ctx, nonNil(p.emitted(pec.KindAcceptance, acc, cert.Acceptance), p.emitted(pec.KindTransport, env, cert.Envelope))...)
	}); err != nil {
		return err
	}
	transport := cert.Envelope
	err = w.dispatch(ctx, stepRelay, w.st.Item.From, w.st.Item.To, transport)
	if err != nil && !errors.Is(err, errLater) {
		return err
	}
	return w.follow(ctx, c, env, err != nil)
}

// build signs a receipt or notice of kind k.
func (p *Provider) build(k pec.Kind, d *daticert.Data, opts *receipt.Options) ([]byte, error) {
	var b bytes.Buffer
	if err := receipt.Build(&b, k, d, p.cfg.Signer, opts); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
