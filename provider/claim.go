package provider

import (
	"context"
	"errors"
	"strings"

	"github.com/pecsdk/pec/provider/spool"
)

// A claim is a spool item that says which incoming item delivers a
// transport envelope (by its identificativo) to a recipient: the first to
// put it. The spool refuses a second item of one ID, durably, so that a
// duplicate of the envelope arriving while the first is being processed, or
// after a crash of either, is not delivered again with a second signed
// receipt. The owner completes its claims once its trace records are
// appended; from then on the trace tells a duplicate (fresh).

// claimOwner is the Meta key of a claim item naming its owner.
const claimOwner = "claim"

func claimID(pecID, rcpt string) string {
	return itemID("c", strings.ToLower(pecID), userName(rcpt))
}

// claim returns the recipients of rcpts whose delivery of the envelope
// pecID this item owns, taking the claims not taken yet.
func (w *work) claim(ctx context.Context, pecID string, rcpts []string) ([]string, error) {
	p := w.p
	var out []string
	for _, r := range rcpts {
		id := claimID(pecID, r)
		it := &spool.Item{ID: id, Role: spool.RoleIncoming, To: []string{r}, Meta: map[string]string{claimOwner: w.st.Item.ID}}
		err := p.cfg.Spool.Put(ctx, it, strings.NewReader(""))
		if errors.Is(err, spool.ErrExists) {
			st, gerr := p.cfg.Spool.Get(ctx, id)
			switch {
			case gerr == nil && st.Item.Meta[claimOwner] == w.st.Item.ID:
				err = nil // ours, from before a restart
			case gerr == nil || errors.Is(gerr, spool.ErrNotFound):
				p.cfg.Logger.Warn("transport envelope being delivered by another item: not delivered again", "id", pecID, "recipient", r)
				continue
			default:
				return nil, gerr
			}
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// release completes the claims of pecID for rcpts.
func (p *Provider) release(ctx context.Context, pecID string, rcpts []string) error {
	for _, r := range rcpts {
		if err := p.cfg.Spool.Complete(ctx, claimID(pecID, r)); err != nil && !errors.Is(err, spool.ErrNotFound) {
			return err
		}
	}
	return nil
}

// claimItem processes a claim found in the spool: it is completed once its
// owner is gone (a crash between the owner's end and its releasing), and
// otherwise looked at again much later.
func (w *work) claimItem(ctx context.Context) error {
	p := w.p
	_, err := p.cfg.Spool.Get(ctx, w.st.Item.Meta[claimOwner])
	if errors.Is(err, spool.ErrNotFound) {
		return p.cfg.Spool.Complete(ctx, w.st.Item.ID)
	}
	if err != nil {
		return err
	}
	for _, r := range w.st.Retries {
		if r.Step == "owner" && r.Next.After(w.now) {
			return nil
		}
	}
	_, err = p.cfg.Spool.Retry(ctx, w.st.Item.ID, "owner", w.now.Add(p.cfg.GiveUpAfter), "owner at work")
	return err
}
