package trace

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pecsdk/pec/pec/smime"
)

// ringSize is how many recent record hashes the walk keeps to tell a
// duplicated record from a different one claiming the same place; a
// record further behind is told apart by reading the log again.
const ringSize = 1024

var errStop = errors.New("stop")

// walker is the walk Verify and Prune make over the log: the chain, the
// seals and the checkpoint, with the first break found.
type walker struct {
	opts     *VerifyOptions
	rep      *Report
	headSeq  uint64
	headHash Hash
	seals    []*Seal // left to check, in Seq order

	start      uint64 // the Seq the walk began at
	exp        uint64 // the Seq the next record must have
	prev       Hash   // the Prev it must have
	sealedHead Hash   // the hash rep.Sealed commits to
	ring       [ringSize]Hash
	gap        *gap
	behind     *Record // a valid record far behind its place, told apart after the scan
}

// gap is a missing record the walk looks for further on: found, it was
// reordered; not found, removed.
type gap struct {
	at     uint64 // the Seq missing
	stored uint64 // the Seq found in its place
}

// walk reads the store's Head and Seals and walks its log from cp (the
// checkpoint read before; nil for none). stop, when set, is asked before
// each record, outside a gap, whether the walk ends there: the checks of
// the end of the log (truncation) are then not made. The error is the
// store's; what is wrong with the log is in w.rep.Break.
func walk(ctx context.Context, st Store, opts *VerifyOptions, cp *Checkpoint, stop func(w *walker, r *Record) bool) (*walker, error) {
	headSeq, headHash, err := st.Head(ctx)
	if err != nil {
		return nil, err
	}
	seals, err := st.Seals(ctx)
	if err != nil {
		return nil, err
	}
	w := &walker{opts: opts, rep: &Report{Checkpoint: cp}, headSeq: headSeq, headHash: headHash, exp: 1}
	if cp != nil {
		w.exp, w.prev = cp.Seq+1, cp.Head
		w.rep.Last, w.rep.Head = cp.Seq, cp.Head
		if p := w.signer(cp.Verify(opts.signatureOptions())); p != "" {
			w.fail(cp.Seq, BreakCheckpoint, "the checkpoint's signature "+p)
			return w, nil
		}
		w.rep.Sealed, w.rep.SealedAt, w.sealedHead = cp.Seq, cp.Time, cp.Head
		if headSeq < cp.Seq || headSeq == cp.Seq && headHash != cp.Head {
			w.fail(cp.Seq, BreakCheckpoint, fmt.Sprintf("the store's head (record %d) is not at or after the checkpoint", headSeq))
			return w, nil
		}
	}
	for _, s := range seals {
		if cp == nil || s.Seq > cp.Seq {
			w.seals = append(w.seals, s)
		}
	}
	w.start = w.exp
	stopped := false
	err = st.Scan(ctx, w.start, func(r *Record) error {
		if w.gap == nil && stop != nil && stop(w, r) {
			stopped = true
			return errStop
		}
		return w.record(r)
	})
	switch {
	case err == nil || errors.Is(err, errStop):
	case errors.Is(err, ErrCorrupt) && ctx.Err() == nil:
		if w.gap != nil {
			w.endGap()
		}
		w.fail(w.exp, BreakAltered, "unreadable: "+err.Error())
		return w, nil
	default:
		return nil, err
	}
	if w.behind != nil {
		if err := w.tellBehind(ctx, st); err != nil {
			return nil, err
		}
	}
	if w.rep.Break != nil {
		return w, nil
	}
	if w.gap != nil {
		w.endGap()
		return w, nil
	}
	if stopped {
		return w, nil
	}
	if headSeq > w.rep.Last {
		w.fail(w.rep.Last+1, BreakTruncated, fmt.Sprintf("the store's head is record %d, but the log ends at record %d", headSeq, w.rep.Last))
		return w, nil
	}
	for _, s := range w.seals {
		if s.Seq > w.rep.Last {
			w.fail(w.rep.Last+1, BreakTruncated, fmt.Sprintf("a seal commits to record %d, but the log ends at record %d", s.Seq, w.rep.Last))
			return w, nil
		}
	}
	return w, nil
}

func (w *walker) fail(seq uint64, kind BreakKind, reason string) {
	if w.rep.Break == nil {
		w.rep.Break = &Break{Seq: seq, Kind: kind, Reason: reason}
	}
}

func (w *walker) endGap() {
	g := w.gap
	if g.stored-1 > g.at {
		w.fail(g.at, BreakRemoved, fmt.Sprintf("records %d to %d are missing: record %d follows record %d", g.at, g.stored-1, g.stored, g.at-1))
	} else {
		w.fail(g.at, BreakRemoved, fmt.Sprintf("record %d is missing: record %d follows record %d", g.at, g.stored, g.at-1))
	}
}

// requireSealed makes the records after the last valid seal, up to last,
// a break when the options require them sealed.
func (w *walker) requireSealed(last uint64) {
	o, sealed := w.opts, w.rep.Sealed
	if !o.RequireSealed || last <= sealed || last-sealed <= o.MaxUnsealed {
		return
	}
	w.fail(sealed+1, BreakUnsealed, fmt.Sprintf("records %d to %d are not sealed (%d, over the %d tolerated): the last valid seal commits to record %d",
		sealed+1, last, last-sealed, o.MaxUnsealed, sealed))
}

// tellBehind names the break of a valid record found far behind its
// place, beyond the ring: it reads the log again from where the walk began
// to the record the walk took at that place, and compares.
func (w *walker) tellBehind(ctx context.Context, st Store) error {
	r := w.behind
	var took *Hash
	err := st.Scan(ctx, w.start, func(x *Record) error {
		if x.Seq == r.Seq {
			h := x.Hash
			took = &h
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) && !errors.Is(err, ErrCorrupt) {
		return err
	}
	w.rep.Break = nil
	if took != nil && *took == r.Hash {
		w.fail(r.Seq, BreakDuplicated, fmt.Sprintf("record %d appears again after record %d", r.Seq, w.exp-1))
	} else {
		w.fail(r.Seq, BreakInserted, fmt.Sprintf("a second, different record %d follows record %d", r.Seq, w.exp-1))
	}
	return nil
}

func (w *walker) record(r *Record) error {
	if w.gap != nil {
		if r.Seq == w.gap.at && r.Check() {
			w.fail(w.gap.at, BreakReordered, fmt.Sprintf("record %d comes after record %d, out of its place", r.Seq, w.gap.stored))
			return errStop
		}
		return nil
	}
	if !r.Check() {
		if r.Seq == w.exp {
			w.fail(w.exp, BreakAltered, fmt.Sprintf("record %d does not match its hash", w.exp))
		} else {
			w.fail(w.exp, BreakAltered, fmt.Sprintf("the record in place of record %d (it says %d) does not match its hash", w.exp, r.Seq))
		}
		return errStop
	}
	switch {
	case r.Seq > w.exp:
		w.gap = &gap{at: w.exp, stored: r.Seq}
		return nil
	case r.Seq < w.start: // record 0, or a place the checkpoint stands for
		if cp := w.rep.Checkpoint; cp != nil && r.Seq == cp.Seq && r.Hash == cp.Head {
			w.fail(r.Seq, BreakDuplicated, fmt.Sprintf("record %d, the last the checkpoint stands for, appears again after record %d", r.Seq, w.exp-1))
		} else {
			w.fail(r.Seq, BreakInserted, fmt.Sprintf("a record %d, before the first place of the log, follows record %d", r.Seq, w.exp-1))
		}
		return errStop
	case r.Seq < w.exp && w.exp-r.Seq <= ringSize:
		if w.ring[r.Seq%ringSize] == r.Hash {
			w.fail(r.Seq, BreakDuplicated, fmt.Sprintf("record %d appears again after record %d", r.Seq, w.exp-1))
		} else {
			w.fail(r.Seq, BreakInserted, fmt.Sprintf("a second, different record %d follows record %d", r.Seq, w.exp-1))
		}
		return errStop
	case r.Seq < w.exp:
		w.behind = r
		w.fail(r.Seq, BreakInserted, "told apart after the walk") // replaced by tellBehind
		return errStop
	}
	if r.Prev != w.prev {
		if cp := w.rep.Checkpoint; cp != nil && r.Seq == cp.Seq+1 {
			w.fail(r.Seq, BreakCheckpoint, fmt.Sprintf("record %d does not follow the checkpoint: its Prev is not the checkpoint's head", r.Seq))
		} else {
			w.fail(r.Seq, BreakAltered, fmt.Sprintf("record %d does not follow record %d: its Prev is not that record's hash, one of the two was rewritten", r.Seq, r.Seq-1))
		}
		return errStop
	}
	if r.Seq == w.headSeq && r.Hash != w.headHash {
		w.fail(r.Seq, BreakAltered, fmt.Sprintf("record %d is not the head the store reports", r.Seq))
		return errStop
	}
	for len(w.seals) > 0 && w.seals[0].Seq <= r.Seq {
		s := w.seals[0]
		w.seals = w.seals[1:]
		w.rep.Seals++
		if s.Seq < r.Seq { // out of order or not in the log: a store fault
			w.fail(s.Seq, BreakSeal, fmt.Sprintf("a seal of record %d is out of order", s.Seq))
			return errStop
		}
		if s.Head != r.Hash {
			from := w.rep.Sealed + 1
			w.fail(s.Seq, BreakSeal, fmt.Sprintf("record %d is not the one sealed at %s: records %d to %d were rewritten", s.Seq, s.Time.Format(time.RFC3339), from, s.Seq))
			return errStop
		}
		if p := w.signer(s.Verify(w.opts.signatureOptions())); p != "" {
			w.fail(s.Seq, BreakSeal, fmt.Sprintf("the signature of the seal of record %d %s", s.Seq, p))
			return errStop
		}
		w.rep.Sealed, w.rep.SealedAt, w.sealedHead = s.Seq, s.Time, s.Head
	}
	if w.rep.First == 0 {
		w.rep.First = r.Seq
	}
	w.rep.Records++
	w.rep.Last, w.rep.Head = r.Seq, r.Hash
	w.ring[r.Seq%ringSize] = r.Hash
	w.exp, w.prev = r.Seq+1, r.Hash
	return nil
}

// signer returns "" when the verdict is acceptable for a seal, else why
// not, as the end of a sentence.
func (w *walker) signer(v *smime.Verdict) string {
	if !v.Intact {
		return "does not verify: " + problems(v)
	}
	// The provider's own seal: a chain to the anchors given, or the
	// Authority's word when one was given, is what is asked of it; its
	// certificate is matched below when the caller named it.
	if v.Chained != nil && !*v.Chained {
		return "is not trusted: " + problems(v)
	}
	if v.Trusted != nil && !*v.Trusted && !v.HasProblem(smime.ProblemNotProvider) {
		return "is not trusted: " + problems(v)
	}
	certs := w.opts.certificates()
	if len(certs) == 0 {
		return ""
	}
	for _, c := range certs {
		if c != nil && v.Signer != nil && v.Signer.Equal(c) {
			return ""
		}
	}
	name := "no certificate"
	if v.Signer != nil {
		name = v.Signer.Subject.String()
	}
	if len(certs) == 1 && certs[0] != nil {
		return fmt.Sprintf("is by %s, not the provider certificate %s", name, certs[0].Subject)
	}
	return fmt.Sprintf("is by %s, none of the %d provider certificates", name, len(certs))
}

func problems(v *smime.Verdict) string {
	var s []string
	for _, p := range v.Problems {
		s = append(s, p.String())
	}
	if len(s) == 0 {
		return "no detail"
	}
	return strings.Join(s, "; ")
}
