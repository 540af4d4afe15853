package provider

import (
	"context"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/receipt"
)

// Steps of an access item about one certified recipient (the suffix is the
// recipient's address). The incoming point records the first three when a
// verified receipt about the message comes back (incoming.go); the access
// point records the notices it emits.
const (
	stepTaken     = "taken:"     // a presa in carico names the recipient
	stepFinal     = "final:"     // a delivery receipt or non-delivery names it
	stepVirus     = "virus:"     // a rilevazione virus names it
	stepVirusND   = "virus-nd:"  // the non-delivery for virus was emitted (PEC.md §6.10)
	stepTimeout12 = "timeout12:" // the 12 h warning was emitted (PEC.md §6.11)
	stepTimeout24 = "timeout24:" // the final notice was emitted
	stepFollow    = "follow"     // the next look at the time limits (a retry, never done)
)

// follow applies the time limits of PEC.md §10.3 to each certified recipient
// of a sent message, and completes the item once every one has an outcome
// and no relay is pending. External recipients are not followed.
func (w *work) follow(ctx context.Context, c *checked, env *daticert.Data, relayPending bool) error {
	p := w.p
	age := w.now.Sub(w.st.Item.Received)
	var next time.Time
	soon := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	open := false
	at := pec.Local(w.now)
	for _, r := range c.certified() {
		key := userName(r)
		notice := func(step string, k pec.Kind) error {
			d := receipt.NewData(k, env, p.cfg.Name, at, []string{r}, "")
			return w.notify(ctx, step+key, k, d, func() ([]byte, error) { return p.build(k, d, nil) })
		}
		switch {
		case w.done(stepVirus + key):
			if err := notice(stepVirusND, pec.KindDeliveryErrorVirus); err != nil {
				return err
			}
			continue
		case w.done(stepFinal+key) || w.done(stepTimeout24+key+".sent"):
			continue
		case age >= p.cfg.GiveUpAfter:
			if err := notice(stepTimeout24, pec.KindDeliveryTimeout24h); err != nil {
				return err
			}
			continue
		}
		open = true
		if !w.done(stepTaken+key) && !w.done(stepTimeout12+key+".sent") {
			if age >= p.cfg.WarnAfter {
				if err := notice(stepTimeout12, pec.KindDeliveryTimeout12h); err != nil {
					return err
				}
			} else {
				soon(w.st.Item.Received.Add(p.cfg.WarnAfter))
			}
		}
		soon(w.st.Item.Received.Add(p.cfg.GiveUpAfter))
	}
	if open {
		for _, r := range w.st.Retries {
			if r.Step == stepFollow && r.Next.Equal(next.Truncate(time.Microsecond)) {
				return nil // already scheduled
			}
		}
		_, err := p.cfg.Spool.Retry(ctx, w.st.Item.ID, stepFollow, next, "waiting for receipts")
		return err
	}
	if relayPending {
		return nil
	}
	return p.cfg.Spool.Complete(ctx, w.st.Item.ID)
}
