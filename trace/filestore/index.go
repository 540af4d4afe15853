package filestore

import (
	"hash/maphash"
	"strings"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/trace"
)

// indexes map the normalised keys of Query and Reissue to the records that
// carry them. A key is kept as a 64-bit hash and a posting list: what the
// index finds is a superset, which the records read from disk confirm
// (trace.Query.Match), so hash collisions cost a read, never a wrong answer.
type indexes struct {
	seed      maphash.Seed
	msgID     postings
	clientID  postings
	address   postings
	generated postings
}

func (ix *indexes) init() {
	ix.seed = maphash.MakeSeed()
	for _, p := range []*postings{&ix.msgID, &ix.clientID, &ix.address, &ix.generated} {
		p.heads = make(map[uint64]list)
	}
}

// key is what an identifier or address is indexed under: without brackets
// and surrounding space, lower-cased whole (the local part compares exactly
// in Match; folding it here only widens what the index finds). It runs for
// every key of every record appended, so the ASCII case avoids allocating.
func (ix *indexes) key(s string) (uint64, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 0x80:
			ascii = false
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			s = pec.NormalizeMsgID(s)
			i = len(s)
		}
	}
	if s == "" {
		return 0, false
	}
	if !ascii {
		return maphash.String(ix.seed, strings.ToLower(s)), true
	}
	var h maphash.Hash
	h.SetSeed(ix.seed)
	var buf [128]byte
	for len(s) > 0 {
		n := copy(buf[:], s)
		for i, c := range buf[:n] {
			if 'A' <= c && c <= 'Z' {
				buf[i] = c + 'a' - 'A'
			}
		}
		h.Write(buf[:n])
		s = s[n:]
	}
	return h.Sum64(), true
}

// keys are the index keys of one record, computed before the committer
// needs them (by the caller of Append, in parallel).
type keys struct {
	msgID, clientID uint64
	hasMsg, hasCli  bool
	address         []uint64
	generated       []uint64
	inline          [6]uint64 // room for the addresses of most records
}

func (ix *indexes) keysOf(r *trace.Record) *keys {
	k := new(keys)
	k.msgID, k.hasMsg = ix.key(r.MsgID)
	k.clientID, k.hasCli = ix.key(r.ClientMsgID)
	addr := func(a string) {
		if h, ok := ix.key(a); ok && !containsKey(k.address, h) {
			k.address = append(k.address, h)
		}
	}
	k.address = k.inline[:0]
	addr(r.Sender)
	for _, rc := range r.Recipients {
		addr(rc.Address)
	}
	addr(r.Delivery)
	addr(r.Reception)
	for _, g := range r.Generated {
		if h, ok := ix.key(g); ok && !containsKey(k.generated, h) {
			k.generated = append(k.generated, h)
		}
	}
	return k
}

func (ix *indexes) add(k *keys, seq uint64) {
	if k.hasMsg {
		ix.msgID.add(k.msgID, seq)
	}
	if k.hasCli {
		ix.clientID.add(k.clientID, seq)
	}
	for _, h := range k.address {
		ix.address.add(h, seq)
	}
	for _, h := range k.generated {
		ix.generated.add(h, seq)
	}
}

func containsKey(ks []uint64, k uint64) bool {
	for _, v := range ks {
		if v == k {
			return true
		}
	}
	return false
}

// postings is a set of posting lists sharing two arrays: each posting
// links to the one added before it under the same key.
type postings struct {
	heads map[uint64]list
	seq   []uint64
	prev  []uint32 // index+1 of the previous posting of the same key, 0 for none
}

type list struct {
	last uint32 // index+1 of the newest posting
	n    uint32
}

func (p *postings) add(k, seq uint64) {
	l := p.heads[k]
	if l.last != 0 && p.seq[l.last-1] == seq {
		return // two addresses of one record folding to one key
	}
	p.seq = append(p.seq, seq)
	p.prev = append(p.prev, l.last)
	p.heads[k] = list{uint32(len(p.seq)), l.n + 1}
}

// count returns the length of k's list.
func (p *postings) count(k uint64) int { return int(p.heads[k].n) }

// get returns k's list in ascending Seq order, without the records below
// first (cut).
func (p *postings) get(k, first uint64) []uint64 {
	l := p.heads[k]
	out := make([]uint64, 0, l.n)
	for i := l.last; i != 0; i = p.prev[i-1] {
		if p.seq[i-1] < first {
			break // older postings are older records
		}
		out = append(out, p.seq[i-1])
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
