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
// Before it signs, Prune makes the walk Verify makes over what it cuts,
// with opts as Verify takes them: the old checkpoint's signature, the
// chain, and every seal up to the cut point, its hash and its signature
// (by one of opts.Certificates, when set; by anyone, when opts is nil). On
// any break it refuses, with the *Break (matching ErrBroken), so that a
// checkpoint never launders a rewritten prefix and the seals that would
// show it are never cut. Records after the last seal carry no signature
// to check: with opts.RequireSealed, Prune cuts only up to the last
// record a valid seal commits to (reading on past the cut point to the
// next seal); without it, it signs them as the chain links them.
//
// A Prune or a Cut made meanwhile by another is not a break: Prune starts
// again from the new checkpoint. It returns the new checkpoint, or nil
// when nothing was older than before (or sealed, with RequireSealed).
func Prune(ctx context.Context, st Store, before time.Time, signer *smime.Signer, now time.Time, opts *VerifyOptions) (*Checkpoint, error) {
	if signer == nil {
		return nil, errors.New("trace: no signer for the checkpoint")
	}
	if opts == nil {
		opts = &VerifyOptions{}
	}
	var made *Checkpoint
	var brk *Break
	err := retryCut(ctx, st, func(old *Checkpoint) (bool, error) {
		made, brk = nil, nil
		cutting := true
		var cutSeq uint64
		var cutHead Hash
		w, err := walk(ctx, st, opts, old, func(w *walker, r *Record) bool {
			if cutting {
				if r.Time.Before(before) {
					return false
				}
				cutting = false
				cutSeq, cutHead = w.rep.Last, w.rep.Head
			}
			// With RequireSealed, read on to the seal that covers the cut.
			return !opts.RequireSealed || w.rep.Sealed >= cutSeq
		})
		if err != nil {
			return false, err
		}
		if w.rep.Break != nil {
			brk = w.rep.Break
			return false, nil
		}
		if cutting {
			cutSeq, cutHead = w.rep.Last, w.rep.Head
		}
		if opts.RequireSealed && w.rep.Sealed < cutSeq {
			cutSeq, cutHead = w.rep.Sealed, w.sealedHead
		}
		if cutSeq == 0 || old != nil && cutSeq <= old.Seq {
			return true, nil
		}
		cp, err := NewCheckpoint(cutSeq, cutHead, before, now, signer)
		if err != nil {
			return false, err
		}
		if err := st.Cut(ctx, cp); err != nil {
			return false, err
		}
		made = cp
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if brk != nil {
		return nil, fmt.Errorf("trace: not pruning: %w", brk)
	}
	return made, nil
}
