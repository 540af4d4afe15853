package trace

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pecsdk/pec/pec/smime"
)

// RetentionMonths is how long the law keeps a provider's log (PEC.md
// §14.2, DPR 68/2005 art. 11): 30 months.
const RetentionMonths = 30

// RetentionCutoff returns the default cut-off for Prune at now: what is
// older than RetentionMonths may go.
func RetentionCutoff(now time.Time) time.Time { return now.AddDate(0, -RetentionMonths, 0) }

// Prune cuts the records older than before from the start of the log and
// puts in their place a Checkpoint signed by signer at now, from which the
// rest of the chain still verifies. It cuts the longest run of records
// from the start that are all older than before: a record appended late
// with an older time stays, with everything after it.
//
// Prune checks the chain of what it cuts, and refuses (with the *Break,
// matching ErrBroken) to sign a checkpoint over a broken chain. It returns
// the new checkpoint, or nil when nothing was older than before.
func Prune(ctx context.Context, st Store, before time.Time, signer *smime.Signer, now time.Time) (*Checkpoint, error) {
	if signer == nil {
		return nil, errors.New("trace: no signer for the checkpoint")
	}
	old, err := st.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	exp, prev := uint64(1), Hash{}
	if old != nil {
		exp, prev = old.Seq+1, old.Head
	}
	var last *Record
	var brk *Break
	err = st.Scan(ctx, exp, func(r *Record) error {
		if !r.Time.Before(before) {
			return errStop
		}
		switch {
		case !r.Check():
			brk = &Break{Seq: exp, Kind: BreakAltered, Reason: fmt.Sprintf("record %d does not match its hash", exp)}
		case r.Seq != exp:
			brk = &Break{Seq: exp, Kind: BreakRemoved, Reason: fmt.Sprintf("record %d follows record %d", r.Seq, exp-1)}
		case r.Prev != prev:
			brk = &Break{Seq: exp, Kind: BreakAltered, Reason: fmt.Sprintf("record %d does not follow record %d", exp, exp-1)}
		}
		if brk != nil {
			return errStop
		}
		last = r
		exp, prev = r.Seq+1, r.Hash
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if brk != nil {
		return nil, fmt.Errorf("trace: not pruning: %w", brk)
	}
	if last == nil {
		return nil, nil
	}
	cp, err := NewCheckpoint(last.Seq, last.Hash, before, now, signer)
	if err != nil {
		return nil, err
	}
	if err := st.Cut(ctx, cp); err != nil {
		return nil, err
	}
	return cp, nil
}
