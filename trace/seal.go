package trace

import (
	"fmt"
	"time"
)

// Seal is the provider's signature over the chain head at one moment: it
// commits to every record up to Seq. Signature is a detached CMS signature
// (DER) over SignedBytes, made with the provider's receipt key.
type Seal struct {
	Seq       uint64    // the last record sealed
	Head      Hash      // its Hash
	Time      time.Time // when the seal was made
	Signature []byte    // detached CMS SignedData over SignedBytes
}

// SignedBytes returns the bytes the signature covers: one line of ASCII
// text without a line ending, so that S/MIME line canonicalization cannot
// change it and openssl checks it as it is:
//
//	pec-trace-seal/1 seq=42 head=<64 hex digits> time=2026-03-28T22:59:00.123456789Z
func (s *Seal) SignedBytes() []byte {
	return fmt.Appendf(nil, "pec-trace-seal/1 seq=%d head=%x time=%s", s.Seq, s.Head[:], stamp(s.Time))
}

// stamp is t in UTC to the nanosecond, the same for the same instant.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Checkpoint stands for records cut by retention: it commits to the last
// record cut, whose hash is the Prev of the first record kept, so the rest
// of the chain still verifies. Signature is a detached CMS signature (DER)
// over SignedBytes.
type Checkpoint struct {
	Seq       uint64    // the last record cut
	Head      Hash      // its Hash
	Before    time.Time // the retention cut-off: every record cut was older
	Time      time.Time // when the cut was made
	Signature []byte    // detached CMS SignedData over SignedBytes
}

// SignedBytes returns the bytes the signature covers, one line of ASCII
// text like a seal's:
//
//	pec-trace-checkpoint/1 seq=42 head=<64 hex digits> before=<RFC 3339 UTC> time=<RFC 3339 UTC>
func (c *Checkpoint) SignedBytes() []byte {
	return fmt.Appendf(nil, "pec-trace-checkpoint/1 seq=%d head=%x before=%s time=%s", c.Seq, c.Head[:], stamp(c.Before), stamp(c.Time))
}
