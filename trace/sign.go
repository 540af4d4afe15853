package trace

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/pecsdk/pec/pec/smime"
)

// NewSeal seals the chain head: the record seq whose hash is head, at now,
// with a detached CMS signature by signer (the provider's receipt key).
func NewSeal(seq uint64, head Hash, now time.Time, signer *smime.Signer) (*Seal, error) {
	if signer == nil {
		return nil, errors.New("trace: no signer for the seal")
	}
	s := &Seal{Seq: seq, Head: head, Time: now}
	sig, err := signer.SignDetached(bytes.NewReader(s.SignedBytes()), now)
	if err != nil {
		return nil, fmt.Errorf("trace: signing the seal of record %d: %w", seq, err)
	}
	s.Signature = sig
	return s, nil
}

// Verify checks the seal's signature over its SignedBytes with
// smime.Verify; a nil opts checks integrity only. A seal is archival
// evidence: certificates are judged as of its signing time unless
// opts.CurrentTime says otherwise (a signing time in the future of
// opts.CurrentTime, or of now, is never trusted).
func (s *Seal) Verify(opts *smime.VerifyOptions) *smime.Verdict {
	return verifyDetached(s.SignedBytes(), s.Signature, opts)
}

// NewCheckpoint makes the checkpoint that replaces the records up to seq,
// whose hash is head, all older than before, signed at now by signer. Use
// Prune, which finds seq and head and cuts the store.
func NewCheckpoint(seq uint64, head Hash, before, now time.Time, signer *smime.Signer) (*Checkpoint, error) {
	if signer == nil {
		return nil, errors.New("trace: no signer for the checkpoint")
	}
	c := &Checkpoint{Seq: seq, Head: head, Before: before, Time: now}
	sig, err := signer.SignDetached(bytes.NewReader(c.SignedBytes()), now)
	if err != nil {
		return nil, fmt.Errorf("trace: signing the checkpoint at record %d: %w", seq, err)
	}
	c.Signature = sig
	return c, nil
}

// Verify checks the checkpoint's signature as Seal.Verify does.
func (c *Checkpoint) Verify(opts *smime.VerifyOptions) *smime.Verdict {
	return verifyDetached(c.SignedBytes(), c.Signature, opts)
}

func verifyDetached(content, sig []byte, opts *smime.VerifyOptions) *smime.Verdict {
	if opts != nil && opts.CurrentTime.IsZero() {
		o := *opts
		o.AsOfSigningTime = true
		opts = &o
	}
	v, err := smime.Verify(bytes.NewReader(content), sig, opts)
	if err != nil { // reading a bytes.Reader cannot fail
		return &smime.Verdict{Present: len(sig) > 0, Problems: []smime.Problem{{Code: smime.ProblemMalformed, Detail: err.Error()}}}
	}
	return v
}
