package trace

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/pecsdk/pec/pec/smime"
)

// VerifyOptions configures Verify and Prune. A nil *VerifyOptions checks
// the chain and that every signature is intact, whoever made it: it proves
// that the log is the one someone sealed, not that the provider did. Set
// Certificates (or SignatureOptions with Roots) for that.
type VerifyOptions struct {
	// Certificates are the provider certificates, past and present (a
	// certificate is renewed well within the 30 months a log is kept):
	// every seal and the checkpoint must be signed with one of them.
	// Empty accepts any signer whose signature is intact (and trusted,
	// when SignatureOptions asks for trust).
	Certificates []*x509.Certificate
	// SignatureOptions says how signatures are checked (Roots,
	// Intermediates, CurrentTime, Authority); with Roots or an
	// Authority, a seal must also be trusted. Nil checks integrity
	// only. Certificates are judged as of each seal's signing time
	// unless CurrentTime is set.
	SignatureOptions *smime.VerifyOptions
	// RequireSealed makes the records that no valid seal (nor the
	// checkpoint) commits to a break (BreakUnsealed), but for the last
	// MaxUnsealed of them: the chain alone does not protect a record,
	// since anyone can rewrite the records after the last seal and
	// recompute their hashes without the provider key. With it, an OK
	// report means "sealed"; without it, only "unaltered since sealed,
	// and consistent after". Prune with RequireSealed cuts only records
	// a valid seal commits to.
	RequireSealed bool
	// MaxUnsealed is how many records after the last valid seal
	// RequireSealed tolerates (those appended since the last seal, at
	// most one Sealer interval's worth); zero tolerates none.
	MaxUnsealed uint64
}

// certificates returns every provider certificate o names.
func (o *VerifyOptions) certificates() []*x509.Certificate { return o.Certificates }

// signatureOptions returns the options of the signature checks.
func (o *VerifyOptions) signatureOptions() *smime.VerifyOptions { return o.SignatureOptions }

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
	BreakUnsealed   BreakKind = "unsealed"   // records no valid seal commits to, with VerifyOptions.RequireSealed
)

// Break is the first place where the log fails to verify: the record (by
// Seq) and what is wrong. It matches ErrBroken, and ErrSealMismatch too
// when a seal or the checkpoint is at fault.
type Break struct {
	Seq    uint64 // the record where the chain first breaks
	Kind   BreakKind
	Reason string
}

// Error says where the chain breaks and why.
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

// Verify walks the log from its checkpoint (or its first record) to its
// head and reports the first record altered, removed, inserted,
// reordered or duplicated, by its Seq; it checks every seal (that it
// commits to the hash the walk found at its Seq, and its signature), the
// checkpoint's signature and that the chain starts from it, and that
// neither a seal nor the store's head points past the last record (a
// truncated log). With opts.Certificates, every seal and the checkpoint
// must be signed with one of them; with a nil opts, by anyone.
//
// What Verify proves stops at the last valid seal: the records after it
// are protected by the chain alone, which anyone with write access to the
// store can rewrite and rehash without the provider key, and Verify then
// finds them consistent. Report.Sealed and Report.Unsealed say where that
// line is; opts.RequireSealed makes records past it a break.
//
// The error is for the store failing (I/O, a context ended); what is
// wrong with the log is in Report.Break. A record the store cannot decode
// (an error matching ErrCorrupt from Scan) is a break at that record.
// Verify reads Checkpoint, then Head and Seals, before it walks: appends
// made meanwhile are walked or not, and are never a break; a Cut
// meanwhile is not either: when the walk breaks or the store fails and
// the checkpoint has changed since, Verify starts again from the new one.
func Verify(ctx context.Context, st Store, opts *VerifyOptions) (*Report, error) {
	if opts == nil {
		opts = &VerifyOptions{}
	}
	var rep *Report
	err := retryCut(ctx, st, func(cp *Checkpoint) (bool, error) {
		w, err := walk(ctx, st, opts, cp, nil)
		if err != nil {
			return false, err
		}
		rep = w.rep
		if rep.Break == nil {
			w.requireSealed(w.rep.Last)
		}
		return rep.Break == nil, nil
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// maxRestarts bounds how many times a walk starts again because the log
// was cut meanwhile: each restart needs another Cut to have completed.
const maxRestarts = 16

// retryCut runs try from the store's checkpoint, and again from the new
// one when try fails (ok false, or an error) and the checkpoint changed
// meanwhile: a concurrent Cut, not a fault of the log. The last outcome
// stands.
func retryCut(ctx context.Context, st Store, try func(cp *Checkpoint) (ok bool, err error)) error {
	cp, err := st.Checkpoint(ctx)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		ok, err := try(cp)
		if ok && err == nil {
			return nil
		}
		if attempt == maxRestarts || ctx.Err() != nil {
			return err
		}
		now, cerr := st.Checkpoint(ctx)
		if cerr != nil || sameCheckpoint(cp, now) {
			return err
		}
		cp = now
	}
}

func sameCheckpoint(a, b *Checkpoint) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Seq == b.Seq && a.Head == b.Head && a.Time.Equal(b.Time) && bytes.Equal(a.Signature, b.Signature)
}
