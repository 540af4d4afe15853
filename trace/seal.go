package trace

import (
	"encoding/binary"
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

const sealDomain = "pec-trace-seal/1\x00"

// SignedBytes returns the bytes the signature covers.
func (s *Seal) SignedBytes() []byte {
	b := []byte(sealDomain)
	b = binary.AppendUvarint(b, s.Seq)
	b = append(b, s.Head[:]...)
	b = binary.AppendVarint(b, s.Time.UnixNano())
	return b
}

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

const checkpointDomain = "pec-trace-checkpoint/1\x00"

// SignedBytes returns the bytes the signature covers.
func (c *Checkpoint) SignedBytes() []byte {
	b := []byte(checkpointDomain)
	b = binary.AppendUvarint(b, c.Seq)
	b = append(b, c.Head[:]...)
	b = binary.AppendVarint(b, c.Before.UnixNano())
	b = binary.AppendVarint(b, c.Time.UnixNano())
	return b
}
