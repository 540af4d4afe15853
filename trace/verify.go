package trace

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pecsdk/pec/pec/smime"
)

// VerifyOptions configures Verify. A nil *VerifyOptions checks the chain
// and the integrity of every signature, whoever made it.
type VerifyOptions struct {
	// Certificate is the provider certificate: every seal and the
	// checkpoint must be signed with it. Nil accepts any signer whose
	// signature is intact (and trusted, when Signature asks for trust).
	Certificate *x509.Certificate
	// Signature says how signatures are checked (Roots, Intermediates,
	// CurrentTime, Authority); with Roots or an Authority, a seal must
	// also be trusted. Nil checks integrity only. Certificates are judged
	// as of each seal's signing time unless CurrentTime is set.
	Signature *smime.VerifyOptions
}

// BreakKind says what is wrong where the chain breaks.
type BreakKind string

// The kinds of break.
const (
	BreakAltered    BreakKind = "altered"    // a record does not match its hash, or its link to the one before
	BreakRemoved    BreakKind = "removed"    // records are missing
	BreakInserted   BreakKind = "inserted"   // a second, different record claims a place already taken
	BreakReordered  BreakKind = "reordered"  // a record comes later than its place
	BreakDuplicated BreakKind = "duplicated" // a record appears a second time
	BreakSeal       BreakKind = "seal"       // a seal's signature fails, or it sealed another hash
	BreakCheckpoint BreakKind = "checkpoint" // the checkpoint's signature fails, or the chain does not start from it
	BreakTruncated  BreakKind = "truncated"  // a seal or the store's head points past the last record
)

// Break is the first place where the log fails to verify: the record (by
// Seq) and what is wrong. It matches ErrBroken, and ErrSealMismatch too
// when a seal or the checkpoint is at fault.
type Break struct {
	Seq    uint64 // the record where the chain first breaks
	Kind   BreakKind
	Reason string
}

func (b *Break) Error() string {
	return fmt.Sprintf("trace: chain broken at record %d (%s): %s", b.Seq, b.Kind, b.Reason)
}

// Is makes a Break match ErrBroken, and ErrSealMismatch for seals and the
// checkpoint.
func (b *Break) Is(target error) bool {
	return target == ErrBroken || target == ErrSealMismatch && (b.Kind == BreakSeal || b.Kind == BreakCheckpoint)
}

// Report is what Verify found.
type Report struct {
	Checkpoint *Checkpoint // where the walk began; nil when it began at record 1
	First      uint64      // Seq of the first record walked; 0 when none
	Last       uint64      // Seq of the last record walked, or of the checkpoint
	Records    uint64      // how many records were walked
	Head       Hash        // hash of the last record walked, or the checkpoint's
	Seals      int         // how many seals were checked
	Sealed     uint64      // the last record a valid seal (or the checkpoint) commits to
	SealedAt   time.Time   // when that seal was made
	Break      *Break      // the first thing wrong; nil when the log verifies
}

// OK reports whether the log verified.
func (r *Report) OK() bool { return r.Break == nil }

// Err returns the Break as an error, or nil when the log verified.
func (r *Report) Err() error {
	if r.Break == nil {
		return nil
	}
	return r.Break
}

// Unsealed is the number of records after the last valid seal: appended
// since, and protected by the chain alone until the next seal.
func (r *Report) Unsealed() uint64 {
	if r.Last < r.Sealed {
		return 0
	}
	return r.Last - r.Sealed
}

// ringSize is how many recent record hashes Verify keeps to tell a
// duplicated record from a different one claiming the same place.
const ringSize = 1024

var errStop = errors.New("stop")

// Verify walks the log from its checkpoint (or its first record) to its
// head and reports the first record altered, removed, inserted,
// reordered or duplicated, by its Seq; it checks every seal (that it
// commits to the hash the walk found at its Seq, and its signature), the
// checkpoint's signature and that the chain starts from it, and that
// neither a seal nor the store's head points past the last record (a
// truncated log). A seal must be signed with opts.Certificate when set.
//
// The error is for the store failing (I/O, a context ended); what is
// wrong with the log is in Report.Break. A record the store cannot decode
// (an error matching ErrCorrupt from Scan) is a break at that record.
// Verify reads Head, Seals and Checkpoint before it walks: appends made
// meanwhile are walked or not, and are never a break; a Cut meanwhile is.
func Verify(ctx context.Context, st Store, opts *VerifyOptions) (*Report, error) {
	if opts == nil {
		opts = &VerifyOptions{}
	}
	headSeq, headHash, err := st.Head(ctx)
	if err != nil {
		return nil, err
	}
	cp, err := st.Checkpoint(ctx)
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
		if p := w.signer(cp.Verify(opts.Signature)); p != "" {
			w.fail(cp.Seq, BreakCheckpoint, "the checkpoint's signature "+p)
			return w.rep, nil
		}
		w.rep.Sealed, w.rep.SealedAt = cp.Seq, cp.Time
		if headSeq < cp.Seq || headSeq == cp.Seq && headHash != cp.Head {
			w.fail(cp.Seq, BreakCheckpoint, fmt.Sprintf("the store's head (record %d) is not at or after the checkpoint", headSeq))
			return w.rep, nil
		}
	}
	for _, s := range seals {
		if cp == nil || s.Seq > cp.Seq {
			w.seals = append(w.seals, s)
		}
	}
	start := w.exp
	err = st.Scan(ctx, start, w.record)
	switch {
	case err == nil || errors.Is(err, errStop):
	case errors.Is(err, ErrCorrupt) && ctx.Err() == nil:
		if w.gap != nil {
			w.endGap()
		}
		if w.rep.Break == nil {
			w.fail(w.exp, BreakAltered, "unreadable: "+err.Error())
		}
		return w.rep, nil
	default:
		return nil, err
	}
	if w.rep.Break != nil {
		return w.rep, nil
	}
	if w.gap != nil {
		w.endGap()
		return w.rep, nil
	}
	if headSeq > w.rep.Last {
		w.fail(w.rep.Last+1, BreakTruncated, fmt.Sprintf("the store's head is record %d, but the log ends at record %d", headSeq, w.rep.Last))
		return w.rep, nil
	}
	for _, s := range w.seals {
		if s.Seq > w.rep.Last {
			w.fail(w.rep.Last+1, BreakTruncated, fmt.Sprintf("a seal commits to record %d, but the log ends at record %d", s.Seq, w.rep.Last))
			return w.rep, nil
		}
	}
	return w.rep, nil
}

type walker struct {
	opts     *VerifyOptions
	rep      *Report
	headSeq  uint64
	headHash Hash
	seals    []*Seal // left to check, in Seq order

	exp  uint64 // the Seq the next record must have
	prev Hash   // the Prev it must have
	ring [ringSize]Hash
	gap  *gap
}

// gap is a missing record the walk looks for further on: found, it was
// reordered; not found, removed.
type gap struct {
	at     uint64 // the Seq missing
	stored uint64 // the Seq found in its place
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
	case r.Seq < w.exp:
		if w.exp-r.Seq > ringSize || w.ring[r.Seq%ringSize] == r.Hash {
			w.fail(r.Seq, BreakDuplicated, fmt.Sprintf("record %d appears again after record %d", r.Seq, w.exp-1))
		} else {
			w.fail(r.Seq, BreakInserted, fmt.Sprintf("a second, different record %d follows record %d", r.Seq, w.exp-1))
		}
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
		if p := w.signer(s.Verify(w.opts.Signature)); p != "" {
			w.fail(s.Seq, BreakSeal, fmt.Sprintf("the signature of the seal of record %d %s", s.Seq, p))
			return errStop
		}
		w.rep.Sealed, w.rep.SealedAt = s.Seq, s.Time
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
	if v.Trusted != nil && !*v.Trusted {
		return "is not trusted: " + problems(v)
	}
	if c := w.opts.Certificate; c != nil && (v.Signer == nil || !v.Signer.Equal(c)) {
		name := "no certificate"
		if v.Signer != nil {
			name = v.Signer.Subject.String()
		}
		return fmt.Sprintf("is by %s, not the provider certificate %s", name, c.Subject)
	}
	return ""
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
