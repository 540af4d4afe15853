package filestore

import (
	"hash/maphash"
	"sort"
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
		p.heads = make(map[uint64]plist)
	}
}

// key is what an identifier or address is indexed under: without brackets
// and surrounding space, lower-cased whole (the local part compares exactly
// in Match; folding it here only widens what the index finds). It runs for
// every key of every record appended, so the ASCII case avoids allocating.
func (ix *indexes) key(s string) (uint64, bool) {
	if h, ok := ix.plainKey(s); ok {
		return h, true
	}
	return ix.normKey(s)
}

// normKey is key for any s.
func (ix *indexes) normKey(s string) (uint64, bool) {
	s = pec.NormalizeMsgID(s) // as NormalizeID and NormalizeAddress do; allocates only to drop inner spaces
	ascii := isASCII(s)
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

// plainKey is key for the common form, in one pass: s all printable
// ASCII without white space, at most 128 bytes, which NormalizeMsgID only
// strips of one leading '<' and one trailing '>'. It reports false for
// any other s, and for the empty key (h 0 then tells nothing).
func (ix *indexes) plainKey(s string) (h uint64, ok bool) {
	if len(s) > 0 && s[0] == '<' {
		s = s[1:]
	}
	if len(s) > 0 && s[len(s)-1] == '>' {
		s = s[:len(s)-1]
	}
	if len(s) == 0 || len(s) > 128 {
		return 0, false
	}
	var buf [128]byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f {
			return 0, false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return maphash.Bytes(ix.seed, buf[:len(s)]), true
}

// keys are the index keys of one record, computed by the caller of Append
// before it takes the writer lock, in parallel with the others.
type keys struct {
	msgID, clientID uint64
	hasMsg, hasCli  bool
	address         []uint64
	generated       []uint64
	inline          [6]uint64 // room for the addresses of most records
	ginline         [2]uint64 // and for their generated identifiers
}

func (ix *indexes) keysOf(r *trace.Record) *keys {
	k := new(keys)
	ix.keysInto(k, r)
	return k
}

// keysInto sets k to the keys of r.
func (ix *indexes) keysInto(k *keys, r *trace.Record) {
	*k = keys{}
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
	for rest, more := r.Reception, true; more; { // several recipients taken in charge at once
		var a string
		a, rest, more = strings.Cut(rest, ",")
		addr(a)
	}
	k.generated = k.ginline[:0]
	for _, g := range r.Generated {
		if h, ok := ix.key(g); ok && !containsKey(k.generated, h) {
			k.generated = append(k.generated, h)
		}
	}
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

// postings maps keys to the Seqs of the records carrying them, in
// ascending order. Most keys (a generated Message-ID) have one record:
// it is kept in the map's value; the others keep the rest in a slice.
type postings struct {
	heads map[uint64]plist
	more  [][]uint64
}

type plist struct {
	one  uint64 // the first Seq
	more int32  // index+1 in postings.more of the others, 0 for none
	n    uint32
}

func (p *postings) add(k, seq uint64) {
	l, ok := p.heads[k]
	switch {
	case !ok:
		p.heads[k] = plist{one: seq, n: 1}
		return
	case l.more == 0:
		if l.one == seq {
			return // two addresses of one record folding to one key
		}
		p.more = append(p.more, []uint64{seq})
		l.more = int32(len(p.more))
	default:
		m := p.more[l.more-1]
		if m[len(m)-1] == seq {
			return
		}
		p.more[l.more-1] = append(m, seq)
	}
	l.n++
	p.heads[k] = l
}

// count returns the length of k's list.
func (p *postings) count(k uint64) int { return int(p.heads[k].n) }

// list is k's posting list as it stands, to be read without the lock: the
// values below a slice's length are never written again.
type list struct {
	one  uint64
	ok   bool
	rest []uint64
}

func (p *postings) list(k uint64) list {
	l, ok := p.heads[k]
	if !ok {
		return list{}
	}
	out := list{one: l.one, ok: true}
	if l.more != 0 {
		m := p.more[l.more-1]
		out.rest = m[:len(m):len(m)]
	}
	return out
}

// each calls fn for the Seqs of the list within [lo, hi], in order, until
// fn returns false.
func (l list) each(lo, hi uint64, fn func(seq uint64) bool) {
	if !l.ok {
		return
	}
	if l.one >= lo && l.one <= hi && !fn(l.one) {
		return
	}
	i := sort.Search(len(l.rest), func(i int) bool { return l.rest[i] >= lo })
	for ; i < len(l.rest) && l.rest[i] <= hi; i++ {
		if !fn(l.rest[i]) {
			return
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
