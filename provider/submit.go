package provider

import (
	"bytes"
	"context"
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
	stepAcceptance    = "acceptance"
	stepEnvelope      = "envelope"
	stepRelay         = "relay"
)

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
	acc := receipt.NewData(pec.KindAcceptance, env, p.cfg.Name, env.Time, nil, "")
	if err := w.notify(ctx, stepAcceptance, pec.KindAcceptance, acc, func() ([]byte, error) {
		return p.build(pec.KindAcceptance, acc, nil)
	}); err != nil {
		return err
	}
	transport, err := w.emit(ctx, stepEnvelope, func() ([]byte, error) {
		var b bytes.Buffer
		if err := envelope.Build(&b, bytes.NewReader(w.body), env, p.cfg.Signer, nil); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	})
	if err != nil {
		return err
	}
	if err := w.once(ctx, stepEnvelope+".sent", func() error {
		if err := p.deposit(ctx, w.st.Item.User, mailbox.Sent, w.body, env.Time); err != nil {
			return err
		}
		return p.record(ctx, nonNil(p.emitted(pec.KindTransport, env, transport))...)
	}); err != nil {
		return err
	}
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
