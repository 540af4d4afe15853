package tracetest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/pectest"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/trace"
)

// Provider is the test provider whose key signs the seals and checkpoints
// the suite makes.
type Provider struct {
	PKI    *pectest.PKI
	Signer *smime.Signer
	Other  *smime.Signer // another provider of the same PKI
}

var provider = sync.OnceValues(func() (*Provider, error) {
	pki, err := pectest.NewPKI("Trace Test CA")
	if err != nil {
		return nil, err
	}
	mk := func(name, email string) (*smime.Signer, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		s, _, err := pki.NewProvider(name, email, &pectest.ProviderOptions{
			Key: key, NotBefore: Epoch.AddDate(0, 0, -1), NotAfter: Epoch.AddDate(20, 0, 0),
		})
		return s, err
	}
	p := &Provider{PKI: pki}
	if p.Signer, err = mk("Gestore Mittente S.p.A.", "posta-certificata@pec.mittente.it"); err != nil {
		return nil, err
	}
	if p.Other, err = mk("Altro Gestore S.p.A.", "posta-certificata@pec.altro.it"); err != nil {
		return nil, err
	}
	return p, nil
})

// TestProvider returns the provider the suite signs with, made once per
// test binary: a test PKI and two providers with ECDSA keys, valid from a
// day before Epoch for twenty years.
func TestProvider(t testing.TB) *Provider {
	t.Helper()
	p, err := provider()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func signer(t testing.TB) *smime.Signer { return TestProvider(t).Signer }

// verifyOpts checks seals against the provider certificate, trusted by the
// test PKI as of now (the test CA was made a moment ago).
func verifyOpts(t testing.TB) *trace.VerifyOptions {
	p := TestProvider(t)
	return &trace.VerifyOptions{
		Certificates:     []*x509.Certificate{p.Signer.Certificate()},
		SignatureOptions: &smime.VerifyOptions{Roots: p.PKI.Pool(), CurrentTime: VerifyTime()},
	}
}

// checkVerify fails the test unless trace.Verify finds the store's log
// whole, and the walk agrees with Head and Checkpoint.
func checkVerify(t *testing.T, st trace.Store) *trace.Report {
	t.Helper()
	rep, err := trace.Verify(ctx(t), st, verifyOpts(t))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !rep.OK() {
		t.Fatalf("Verify: %v", rep.Err())
	}
	seq, head, err := st.Head(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Last != seq || rep.Head != head {
		t.Fatalf("Verify walked to record %d, but Head is record %d", rep.Last, seq)
	}
	return rep
}

// tampered shows a store's log changed: Scan gives what edit makes of the
// records, and the other methods are overridden when set.
type tampered struct {
	trace.Store
	edit       func(recs []*trace.Record) []*trace.Record
	scanErr    error // returned by Scan after the records edit kept
	head       func() (uint64, trace.Hash)
	seals      func([]*trace.Seal) []*trace.Seal
	checkpoint func(*trace.Checkpoint) *trace.Checkpoint
}

// Scan gives the records as edit changed them, then scanErr.
func (s *tampered) Scan(ctx context.Context, from uint64, fn func(*trace.Record) error) error {
	var recs []*trace.Record
	if err := s.Store.Scan(ctx, 0, func(r *trace.Record) error { recs = append(recs, r); return nil }); err != nil {
		return err
	}
	if s.edit != nil {
		recs = s.edit(recs)
	}
	for _, r := range recs {
		if r.Seq < from {
			continue
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return s.scanErr
}

// Head gives what head says, when set.
func (s *tampered) Head(ctx context.Context) (uint64, trace.Hash, error) {
	if s.head != nil {
		seq, h := s.head()
		return seq, h, nil
	}
	return s.Store.Head(ctx)
}

// Seals gives the seals as seals changed them, when set.
func (s *tampered) Seals(ctx context.Context) ([]*trace.Seal, error) {
	seals, err := s.Store.Seals(ctx)
	if err == nil && s.seals != nil {
		seals = s.seals(seals)
	}
	return seals, err
}

// Checkpoint gives the checkpoint as checkpoint changed it, when set.
func (s *tampered) Checkpoint(ctx context.Context) (*trace.Checkpoint, error) {
	cp, err := s.Store.Checkpoint(ctx)
	if err == nil && s.checkpoint != nil {
		cp = s.checkpoint(cp)
	}
	return cp, err
}

// at returns the record with the Seq in recs (as the store gave them).
func at(recs []*trace.Record, seq uint64) int {
	return slices.IndexFunc(recs, func(r *trace.Record) bool { return r.Seq == seq })
}

func remove(seqs ...uint64) func([]*trace.Record) []*trace.Record {
	return func(recs []*trace.Record) []*trace.Record {
		return slices.DeleteFunc(recs, func(r *trace.Record) bool { return slices.Contains(seqs, r.Seq) })
	}
}

// move puts the record seq right after the record after.
func move(seq, after uint64) func([]*trace.Record) []*trace.Record {
	return func(recs []*trace.Record) []*trace.Record {
		i := at(recs, seq)
		r := recs[i]
		recs = slices.Delete(recs, i, i+1)
		j := at(recs, after)
		return slices.Insert(recs, j+1, r)
	}
}

func change(seq uint64, f func(r *trace.Record)) func([]*trace.Record) []*trace.Record {
	return func(recs []*trace.Record) []*trace.Record {
		f(recs[at(recs, seq)])
		return recs
	}
}

// rechain rewrites record from (with f) and recomputes the hashes of it
// and of every record after it, as someone without the provider key can.
func rechain(from uint64, f func(r *trace.Record)) func([]*trace.Record) []*trace.Record {
	return func(recs []*trace.Record) []*trace.Record {
		i := at(recs, from)
		f(recs[i])
		for ; i < len(recs); i++ {
			prev := trace.Hash{}
			if i > 0 {
				prev = recs[i-1].Hash
			}
			recs[i].Chain(recs[i].Seq, prev)
		}
		return recs
	}
}

// testVerify builds a log of 14 records sealed at 4, 8 and 12, and checks
// that Verify finds each way of tampering with what the store returns.
func testVerify(t *testing.T, st trace.Store) {
	recs := appendN(t, st, 0, 14, 3)
	p := TestProvider(t)
	for _, i := range []int{3, 7, 11} {
		if err := st.AddSeal(ctx(t), testSeal(t, recs[i], recs[i].Time.Add(time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	rep := checkVerify(t, st)
	if rep.First != 1 || rep.Last != 14 || rep.Records != 14 || rep.Seals != 3 || rep.Sealed != 12 || rep.Unsealed() != 2 {
		t.Fatalf("Verify of a whole log: %+v", rep)
	}
	forged := NewRecord(40)
	forged.Chain(5, recs[3].Hash) // a well-formed record 5 that was never appended
	foreign := func(s *smime.Signer) func([]*trace.Seal) []*trace.Seal {
		return func(seals []*trace.Seal) []*trace.Seal {
			x, err := trace.NewSeal(seals[1].Seq, seals[1].Head, seals[1].Time, s)
			if err != nil {
				t.Fatal(err)
			}
			seals[1] = x
			return seals
		}
	}
	otherPKI, err := pectest.NewPKI("Other CA")
	if err != nil {
		t.Fatal(err)
	}
	outsider, _, err := otherPKI.NewProvider("Gestore Mittente S.p.A.", "posta-certificata@pec.mittente.it",
		&pectest.ProviderOptions{NotBefore: Epoch.AddDate(0, 0, -1), NotAfter: Epoch.AddDate(20, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		st   *tampered
		seq  uint64
		kind trace.BreakKind
	}{
		{"SubjectChanged", &tampered{edit: change(5, func(r *trace.Record) { r.Subject = "altro" })}, 5, trace.BreakAltered},
		{"TimeChanged", &tampered{edit: change(1, func(r *trace.Record) { r.Time = r.Time.Add(time.Second) })}, 1, trace.BreakAltered},
		{"RecipientChanged", &tampered{edit: change(14, func(r *trace.Record) { r.Recipients[0].Address = "x@example.com" })}, 14, trace.BreakAltered},
		{"MessageChanged", &tampered{edit: change(9, func(r *trace.Record) { r.Message[len(r.Message)-3] ^= 1 })}, 9, trace.BreakAltered},
		{"SeqChanged", &tampered{edit: change(6, func(r *trace.Record) { r.Seq = 7 })}, 6, trace.BreakAltered},
		{"HashChanged", &tampered{edit: change(3, func(r *trace.Record) { r.Hash[0] ^= 1 })}, 3, trace.BreakAltered},
		{"RehashedOne", &tampered{edit: change(5, func(r *trace.Record) { r.Subject = "altro"; r.Hash = r.ComputeHash() })}, 6, trace.BreakAltered},
		{"RechainedToSeal", &tampered{edit: rechain(6, func(r *trace.Record) { r.Subject = "altro" })}, 8, trace.BreakSeal},
		{"RemovedFirst", &tampered{edit: remove(1)}, 1, trace.BreakRemoved},
		{"RemovedOne", &tampered{edit: remove(5)}, 5, trace.BreakRemoved},
		{"RemovedTwo", &tampered{edit: remove(5, 6)}, 5, trace.BreakRemoved},
		{"RemovedLast", &tampered{edit: remove(14)}, 14, trace.BreakTruncated},
		{"RemovedSealedTail", &tampered{edit: remove(12, 13, 14), head: func() (uint64, trace.Hash) { return 11, recs[10].Hash }}, 12, trace.BreakTruncated},
		{"DuplicatedNext", &tampered{edit: func(r []*trace.Record) []*trace.Record { return slices.Insert(r, 5, r[4]) }}, 5, trace.BreakDuplicated},
		{"DuplicatedAtEnd", &tampered{edit: func(r []*trace.Record) []*trace.Record { return append(r, r[2]) }}, 3, trace.BreakDuplicated},
		{"Swapped", &tampered{edit: move(5, 6)}, 5, trace.BreakReordered},
		{"MovedLater", &tampered{edit: move(3, 9)}, 3, trace.BreakReordered},
		{"MovedEarlier", &tampered{edit: move(9, 3)}, 4, trace.BreakReordered},
		{"Inserted", &tampered{edit: func(r []*trace.Record) []*trace.Record { return slices.Insert(r, 4, forged) }}, 5, trace.BreakInserted},
		{"Replaced", &tampered{edit: func(r []*trace.Record) []*trace.Record { r[4] = forged; return r }}, 6, trace.BreakAltered},
		{"Unreadable", &tampered{edit: remove(7, 8, 9, 10, 11, 12, 13, 14), scanErr: &trace.DecodeError{What: "record", Offset: 3, Reason: "bad"}}, 7, trace.BreakAltered},
		{"SealSignatureChanged", &tampered{seals: func(s []*trace.Seal) []*trace.Seal { s[0].Signature[len(s[0].Signature)-5] ^= 1; return s }}, 4, trace.BreakSeal},
		{"SealTimeChanged", &tampered{seals: func(s []*trace.Seal) []*trace.Seal { s[2].Time = s[2].Time.Add(time.Hour); return s }}, 12, trace.BreakSeal},
		{"SealHeadChanged", &tampered{seals: func(s []*trace.Seal) []*trace.Seal { s[1].Head[3] ^= 1; return s }}, 8, trace.BreakSeal},
		{"SealByAnotherProvider", &tampered{seals: foreign(p.Other)}, 8, trace.BreakSeal},
		{"SealByAnotherCA", &tampered{seals: foreign(outsider)}, 8, trace.BreakSeal},
		{"SealPastHead", &tampered{seals: func(s []*trace.Seal) []*trace.Seal {
			return append(s, &trace.Seal{Seq: 15, Head: trace.Hash{1}, Time: s[2].Time, Signature: s[2].Signature})
		}}, 15, trace.BreakTruncated},
		{"HeadPastEnd", &tampered{head: func() (uint64, trace.Hash) { return 15, trace.Hash{2} }}, 15, trace.BreakTruncated},
		{"HeadElsewhere", &tampered{head: func() (uint64, trace.Hash) { return 13, recs[12].Hash }}, 0, ""},
		{"HeadAltered", &tampered{head: func() (uint64, trace.Hash) { return 13, recs[11].Hash }}, 13, trace.BreakAltered},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.st.Store = st
			rep, err := trace.Verify(ctx(t), tc.st, verifyOpts(t))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tc.kind == "" {
				if !rep.OK() {
					t.Fatalf("Verify: %v, want no break", rep.Err())
				}
				return
			}
			b := rep.Break
			if b == nil {
				t.Fatalf("Verify found nothing wrong; want %s at record %d", tc.kind, tc.seq)
			}
			if b.Seq != tc.seq || b.Kind != tc.kind {
				t.Fatalf("Verify: %v; want %s at record %d", b, tc.kind, tc.seq)
			}
			if !errors.Is(rep.Err(), trace.ErrBroken) {
				t.Fatalf("the break %v does not match ErrBroken", b)
			}
		})
	}
	// The store itself was not changed by any of this.
	checkVerify(t, st)

	t.Run("StoreFails", func(t *testing.T) {
		boom := errors.New("disk on fire")
		if _, err := trace.Verify(ctx(t), &tampered{Store: st, scanErr: boom}, nil); !errors.Is(err, boom) {
			t.Fatalf("Verify of a store whose Scan fails: %v, want its error", err)
		}
	})
	t.Run("IntegrityOnly", func(t *testing.T) {
		rep, err := trace.Verify(ctx(t), &tampered{Store: st, seals: foreign(outsider)}, nil)
		if err != nil || !rep.OK() {
			t.Fatalf("Verify with nil options of a log sealed by an untrusted key: %v, %v; want OK", rep.Err(), err)
		}
	})
}

// testVerifyCheckpoint checks Verify from a checkpoint, and what it finds
// wrong with one.
func testVerifyCheckpoint(t *testing.T, st trace.Store) {
	recs := appendN(t, st, 0, 10, 10)
	if err := st.AddSeal(ctx(t), testSeal(t, recs[7], recs[7].Time)); err != nil {
		t.Fatal(err)
	}
	cp, err := trace.Prune(ctx(t), st, recs[3].Time.Add(time.Nanosecond), signer(t), recs[9].Time.Add(time.Hour), verifyOpts(t))
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	if cp == nil || cp.Seq != 4 || cp.Head != recs[3].Hash {
		t.Fatalf("Prune made checkpoint %+v, want one at record 4", cp)
	}
	if v := cp.Verify(&smime.VerifyOptions{Roots: TestProvider(t).PKI.Pool(), CurrentTime: VerifyTime()}); !v.Intact || !*v.Chained {
		t.Fatalf("the checkpoint's signature does not verify: %v", v.Problems)
	}
	rep := checkVerify(t, st)
	if rep.Checkpoint == nil || rep.First != 5 || rep.Records != 6 || rep.Sealed != 8 {
		t.Fatalf("Verify after Prune: %+v", rep)
	}
	if _, err := st.Get(ctx(t), 4); !errors.Is(err, trace.ErrNotFound) {
		t.Fatalf("Get(4) after Prune: %v, want ErrNotFound", err)
	}
	again, err := trace.Prune(ctx(t), st, recs[3].Time.Add(time.Nanosecond), signer(t), recs[9].Time.Add(2*time.Hour), verifyOpts(t))
	if err != nil || again != nil {
		t.Fatalf("a second Prune with the same cut-off: %+v, %v; want nothing to do", again, err)
	}

	tests := []struct {
		name string
		st   *tampered
		seq  uint64
		kind trace.BreakKind
	}{
		{"SignatureChanged", &tampered{checkpoint: func(c *trace.Checkpoint) *trace.Checkpoint { c.Signature[len(c.Signature)-4] ^= 1; return c }}, 4, trace.BreakCheckpoint},
		{"BeforeChanged", &tampered{checkpoint: func(c *trace.Checkpoint) *trace.Checkpoint { c.Before = c.Before.AddDate(1, 0, 0); return c }}, 4, trace.BreakCheckpoint},
		{"ByAnotherProvider", &tampered{checkpoint: func(c *trace.Checkpoint) *trace.Checkpoint {
			x, err := trace.NewCheckpoint(c.Seq, c.Head, c.Before, c.Time, TestProvider(t).Other)
			if err != nil {
				t.Fatal(err)
			}
			return x
		}}, 4, trace.BreakCheckpoint},
		{"Removed", &tampered{checkpoint: func(*trace.Checkpoint) *trace.Checkpoint { return nil }}, 1, trace.BreakRemoved},
		{"FirstKeptRemoved", &tampered{edit: remove(5)}, 5, trace.BreakRemoved},
		{"FirstKeptReplaced", &tampered{edit: change(5, func(r *trace.Record) { r.Chain(5, trace.Hash{9}) })}, 5, trace.BreakCheckpoint},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.st.Store = st
			rep, err := trace.Verify(ctx(t), tc.st, verifyOpts(t))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if b := rep.Break; b == nil || b.Seq != tc.seq || b.Kind != tc.kind {
				t.Fatalf("Verify: %v; want %s at record %d", rep.Err(), tc.kind, tc.seq)
			}
		})
	}
	checkVerify(t, st)
}

// testPrune checks that Prune cuts the longest old prefix, keeps the
// rest verifiable, and refuses to cut a broken chain.
func testPrune(t *testing.T, st trace.Store) {
	recs := appendN(t, st, 0, 12, 4)
	late := NewRecord(1) // an event logged late, with an old time
	if err := st.Append(ctx(t), late); err != nil {
		t.Fatal(err)
	}
	recs = append(recs, late)
	rest := appendN(t, st, 12, 4, 4)
	recs = append(recs, rest...)
	if cp, err := trace.Prune(ctx(t), st, recs[0].Time, signer(t), Epoch.Add(time.Hour), verifyOpts(t)); err != nil || cp != nil {
		t.Fatalf("Prune with nothing older: %+v, %v", cp, err)
	}
	// Records 1 to 6 are older; 7 is not, so the late record 13 stays.
	cp, err := trace.Prune(ctx(t), st, recs[5].Time.Add(time.Nanosecond), signer(t), Epoch.AddDate(2, 0, 0), verifyOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	if cp == nil || cp.Seq != 6 {
		t.Fatalf("Prune made %+v, want a checkpoint at record 6", cp)
	}
	if _, err := st.Get(ctx(t), 13); err != nil {
		t.Fatalf("Prune cut the late record 13, which follows newer ones: %v", err)
	}
	checkLog(t, st, recs[6:])
	before := recs[14].Time.Add(time.Nanosecond) // records 1..12, 13 (late) and 14..15 are older
	cp, err = trace.Prune(ctx(t), st, before, signer(t), Epoch.AddDate(3, 0, 0), verifyOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	if cp == nil || cp.Seq != 15 || !cp.Before.Equal(before) {
		t.Fatalf("Prune made %+v, want a checkpoint at record 15", cp)
	}
	checkLog(t, st, recs[15:])
	if got := trace.RetentionCutoff(time.Date(2028, 9, 30, 12, 0, 0, 0, time.UTC)); !got.Equal(time.Date(2026, 3, 30, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("RetentionCutoff: %v", got)
	}
	bad := &tampered{Store: st, edit: change(16, func(r *trace.Record) { r.Subject = "altro" })}
	if cp, err := trace.Prune(ctx(t), bad, recs[16].Time.Add(time.Second), signer(t), Epoch.AddDate(3, 0, 0), verifyOpts(t)); !errors.Is(err, trace.ErrBroken) || cp != nil {
		t.Fatalf("Prune over an altered record: %+v, %v; want ErrBroken", cp, err)
	}
	if got, _ := st.Checkpoint(ctx(t)); got == nil || got.Seq != 15 {
		t.Fatalf("a refused Prune changed the checkpoint to %+v", got)
	}
}

// testPruneRewritten: Prune refuses to sign a checkpoint over records
// rewritten and rehashed without the provider key, which a seal shows, and
// so the store keeps that seal.
func testPruneRewritten(t *testing.T, st trace.Store) {
	recs := appendN(t, st, 0, 10, 10)
	if err := st.AddSeal(ctx(t), testSeal(t, recs[7], recs[7].Time.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	bad := &tampered{Store: st, edit: rechain(3, func(r *trace.Record) { r.Subject = "falso" })}
	var forged []*trace.Record
	if err := bad.Scan(ctx(t), 0, func(r *trace.Record) error { forged = append(forged, r); return nil }); err != nil {
		t.Fatal(err)
	}
	last := forged[len(forged)-1]
	bad.head = func() (uint64, trace.Hash) { return last.Seq, last.Hash }
	cp, err := trace.Prune(ctx(t), bad, recs[8].Time.Add(time.Nanosecond), signer(t), Epoch.AddDate(3, 0, 0), verifyOpts(t))
	var b *trace.Break
	if cp != nil || !errors.As(err, &b) || b.Kind != trace.BreakSeal || b.Seq != 8 {
		t.Fatalf("Prune over records 3 to 10 rewritten: checkpoint %v, %v; want the seal of record 8 broken", cp != nil, err)
	}
	if got, err := st.Checkpoint(ctx(t)); got != nil || err != nil {
		t.Fatalf("a refused Prune left checkpoint %+v, %v", got, err)
	}
	if seals, err := st.Seals(ctx(t)); err != nil || len(seals) != 1 {
		t.Fatalf("a refused Prune left %d seals (%v), want 1", len(seals), err)
	}
	checkLog(t, st, recs)
}

// testPruneConcurrent runs two Prunes and Verifies at once: a walk that a
// Cut overtakes starts again from the new checkpoint, so none of them
// reports a break, and the store never takes a checkpoint behind the one
// it holds.
func testPruneConcurrent(t *testing.T, st trace.Store) {
	recs := appendN(t, st, 0, 60, 20)
	for _, i := range []int{19, 49} {
		if err := st.AddSeal(ctx(t), testSeal(t, recs[i], recs[i].Time.Add(time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for _, n := range []int{15, 40} {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := trace.Prune(ctx(t), st, recs[n-1].Time.Add(time.Nanosecond), signer(t), Epoch.AddDate(3, 0, 0), verifyOpts(t)); err != nil {
				t.Errorf("Prune to record %d beside another: %v", n, err)
			}
		}()
		go func() {
			defer wg.Done()
			for range 3 {
				rep, err := trace.Verify(ctx(t), st, verifyOpts(t))
				if err != nil || !rep.OK() {
					t.Errorf("Verify beside Prunes: %v, %v", rep.Err(), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if cp, err := st.Checkpoint(ctx(t)); err != nil || cp == nil || cp.Seq != 40 {
		t.Fatalf("after Prunes to 15 and 40, the checkpoint is %+v (%v), want one at record 40", cp, err)
	}
	checkVerify(t, st)
	checkLog(t, st, recs[40:])
}

// testSealHead checks SealHead: a seal of the head, once.
func testSealHead(t *testing.T, st trace.Store) {
	if s, err := trace.SealHead(ctx(t), st, signer(t), Epoch); err != nil || s != nil {
		t.Fatalf("SealHead of an empty log: %+v, %v", s, err)
	}
	recs := appendN(t, st, 0, 6, 6)
	s, err := trace.SealHead(ctx(t), st, signer(t), Epoch.Add(time.Hour))
	if err != nil || s == nil || s.Seq != 6 || s.Head != recs[5].Hash {
		t.Fatalf("SealHead: %+v, %v", s, err)
	}
	if v := s.Verify(nil); !v.Intact || !v.Signer.Equal(signer(t).Certificate()) {
		t.Fatalf("the seal's signature: %+v", v)
	}
	if again, err := trace.SealHead(ctx(t), st, signer(t), Epoch.Add(2*time.Hour)); err != nil || again != nil {
		t.Fatalf("SealHead of a sealed head: %+v, %v; want nothing", again, err)
	}
	seals, err := st.Seals(ctx(t))
	if err != nil || len(seals) != 1 {
		t.Fatalf("Seals: %d, %v", len(seals), err)
	}
	sameSeal(t, "stored seal", seals[0], s)
	rep := checkVerify(t, st)
	if rep.Sealed != 6 || !rep.SealedAt.Equal(s.Time) {
		t.Fatalf("Verify after SealHead: %+v", rep)
	}
}

// VerifyTime is when the suite verifies seals and checkpoints: the stores
// are driven by a clock years ahead of the real one (so that retention
// cuts can be tested), and a signature dated after the verification time
// is never trusted. It lies within the validity of the test CA.
func VerifyTime() time.Time { return time.Now().AddDate(5, 0, 0) }
