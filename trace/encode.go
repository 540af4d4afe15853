package trace

import (
	"crypto/sha256"
	"encoding/binary"
)

// An Encoding is a record encoded ahead of its place in the chain: what
// MarshalBinary would return, but for Seq, Prev and Hash, which Chain
// fills in. A store encodes records in parallel, outside its writer lock,
// and chains them one after another under it, where chaining then costs
// one SHA-256 of the encoded fields and no encoding.
type Encoding struct {
	r     *Record
	buf   []byte // [room or hash domain][magic][seq slot][fields][prev][hash][message length][message]
	room  int    // bytes kept free before the encoding, for the caller's framing
	body  int    // where the fields after Seq start
	prev  int    // where Prev goes
	start int    // where Bytes starts, once chained
}

// seqSlot is the room kept for Seq, a uvarint.
const seqSlot = binary.MaxVarintLen64

// Encode encodes r, but for Seq, Prev and Hash, with room free bytes before
// the encoding (for a frame header, say). It computes MessageHash when r
// has an inline Message and no MessageHash. r must not change until the
// Encoding is chained and its bytes used.
func (r *Record) Encode(room int) *Encoding { return r.EncodeTo(nil, room) }

// EncodeTo is Encode into e, an Encoding made before whose bytes are no
// longer used (nil: a new one): its buffer is reused when it is large
// enough, so that a store that encodes record after record allocates
// nothing for it.
func (r *Record) EncodeTo(e *Encoding, room int) *Encoding {
	if len(r.Message) > 0 && r.MessageHash.IsZero() {
		r.MessageHash = sha256.Sum256(r.Message)
	}
	body := max(room, len(hashDomain)) + len(recordMagic) + seqSlot
	need := body + r.chainedSize() + len(Hash{}) + binary.MaxVarintLen64 + len(r.Message)
	var b []byte
	if e != nil && cap(e.buf) >= need {
		b = e.buf[:body]
	} else {
		b = make([]byte, body, need)
	}
	if e == nil {
		e = new(Encoding)
	}
	b = r.appendFields(b)
	*e = Encoding{r: r, room: room, body: body, prev: len(b)}
	b = append(b, r.Prev[:]...)
	b = append(b, r.Hash[:]...)
	b = appendBytes(b, r.Message)
	e.buf = b
	e.start = -1
	return e
}

// Chain places the record at position seq after the record whose hash is
// prev, as Record.Chain does, and completes the encoding: the record's
// Seq, Prev and Hash are set. It may be called again, to place the record
// elsewhere.
func (e *Encoding) Chain(seq uint64, prev Hash) {
	var sb [seqSlot]byte
	n := binary.PutUvarint(sb[:], seq)
	start := e.body - n - len(recordMagic)
	copy(e.buf[start:], recordMagic)
	copy(e.buf[e.body-n:], sb[:n])
	copy(e.buf[e.prev:], prev[:])
	// The hash domain goes just before the encoding, where the room is,
	// so that one call hashes it all, with nothing allocated.
	copy(e.buf[start-len(hashDomain):], hashDomain)
	sum := Hash(sha256.Sum256(e.buf[start-len(hashDomain) : e.prev+len(Hash{})]))
	copy(e.buf[e.prev+len(Hash{}):], sum[:])
	e.r.Seq, e.r.Prev, e.r.Hash = seq, prev, sum
	e.start = start - e.room
}

// Bytes returns the room asked for by Encode, of unspecified content,
// followed by the record's encoding, the bytes MarshalBinary returns; nil
// before Chain. The caller may write into the room.
func (e *Encoding) Bytes() []byte {
	if e.start < 0 {
		return nil
	}
	return e.buf[e.start:]
}

// Record returns the record encoded.
func (e *Encoding) Record() *Record { return e.r }
