package trace_test

import (
	"context"
	"crypto/x509"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/pectest"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/memstore"
	"github.com/pecsdk/pec/trace/tracetest"
)

// scanEdit shows a store's records changed by edit.
type scanEdit struct {
	trace.Store
	edit func([]*trace.Record) []*trace.Record
}

func (s scanEdit) Scan(ctx context.Context, from uint64, fn func(*trace.Record) error) error {
	var recs []*trace.Record
	if err := s.Store.Scan(ctx, from, func(r *trace.Record) error { recs = append(recs, r); return nil }); err != nil {
		return err
	}
	for _, r := range s.edit(recs) {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// TestVerifyLong checks what Verify tells apart on a log longer than the
// window of recent hashes it keeps.
func TestVerifyLong(t *testing.T) {
	st := memstore.New(nil)
	const n = 3000
	for i := 0; i < n; i += 500 {
		if err := st.Append(t.Context(), tracetest.NewRecords(i, 500)...); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := trace.Verify(t.Context(), st, nil)
	if err != nil || !rep.OK() || rep.Records != n || rep.Sealed != 0 || rep.Unsealed() != n {
		t.Fatalf("Verify: %+v, %v", rep, err)
	}
	tests := []struct {
		name string
		edit func([]*trace.Record) []*trace.Record
		seq  uint64
		kind trace.BreakKind
	}{
		{"DuplicatedFarBack", func(r []*trace.Record) []*trace.Record { return append(r, r[0]) }, 1, trace.BreakDuplicated},
		{"DuplicatedRecent", func(r []*trace.Record) []*trace.Record { return append(r, r[n-1000]) }, n - 999, trace.BreakDuplicated},
		{"InsertedFarBack", func(r []*trace.Record) []*trace.Record { return append(r, other(r, 1)) }, 1, trace.BreakInserted},
		{"InsertedJustBeyondRing", func(r []*trace.Record) []*trace.Record { return append(r, other(r, n-1024)) }, n - 1024, trace.BreakInserted},
		{"DuplicatedJustBeyondRing", func(r []*trace.Record) []*trace.Record { return append(r, r[n-1025]) }, n - 1024, trace.BreakDuplicated},
		{"InsertedRecent", func(r []*trace.Record) []*trace.Record { return append(r, other(r, n-5)) }, n - 5, trace.BreakInserted},
		{"MovedFar", func(r []*trace.Record) []*trace.Record {
			x := r[10]
			r = append(r[:10:10], r[11:]...)
			return append(r, x)
		}, 11, trace.BreakReordered},
		{"RemovedRun", func(r []*trace.Record) []*trace.Record { return append(r[:100:100], r[1600:]...) }, 101, trace.BreakRemoved},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := trace.Verify(t.Context(), scanEdit{st, tc.edit}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if b := rep.Break; b == nil || b.Seq != tc.seq || b.Kind != tc.kind {
				t.Fatalf("Verify: %v; want %s at %d", rep.Err(), tc.kind, tc.seq)
			}
		})
	}
}

// other is a valid record at place seq of recs (Seq, Prev as there) with
// other content: a second, different record claiming that place.
func other(recs []*trace.Record, seq uint64) *trace.Record {
	x := recs[seq-1].Clone()
	x.Subject = "un altro"
	x.Chain(x.Seq, x.Prev)
	return x
}

// TestVerifyCertificates: the provider certificate is renewed within the
// retention period; seals by every certificate listed verify, and a seal by
// one not listed breaks.
func TestVerifyCertificates(t *testing.T) {
	p := tracetest.TestProvider(t)
	renewed, _, err := p.PKI.NewProvider("Gestore Mittente S.p.A.", "posta-certificata@pec.mittente.it",
		&pectest.ProviderOptions{NotBefore: tracetest.Epoch.AddDate(0, 0, -1), NotAfter: tracetest.Epoch.AddDate(20, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	st := memstore.New(nil)
	for i, s := range []*smime.Signer{p.Signer, renewed} {
		if err := st.Append(t.Context(), tracetest.NewRecords(i*5, 5)...); err != nil {
			t.Fatal(err)
		}
		if _, err := trace.SealHead(t.Context(), st, s, tracetest.Epoch.AddDate(i, 0, 0)); err != nil {
			t.Fatal(err)
		}
	}
	oldCert, newCert := p.Signer.Certificate(), renewed.Certificate()
	tests := []struct {
		name string
		opts trace.VerifyOptions
		seq  uint64 // the seal that breaks; 0 when none
	}{
		{"Both", trace.VerifyOptions{Certificates: []*x509.Certificate{oldCert, newCert}}, 0},
		{"BothOtherOrder", trace.VerifyOptions{Certificates: []*x509.Certificate{newCert, oldCert}}, 0},
		{"OldOnly", trace.VerifyOptions{Certificates: []*x509.Certificate{oldCert}}, 10},
		{"NewOnly", trace.VerifyOptions{Certificates: []*x509.Certificate{newCert}}, 5},
		{"AnotherProvider", trace.VerifyOptions{Certificates: []*x509.Certificate{p.Other.Certificate(), nil}}, 5},
		{"TrustedBoth", trace.VerifyOptions{Certificates: []*x509.Certificate{oldCert, newCert},
			SignatureOptions: &smime.VerifyOptions{Roots: p.PKI.Pool(), CurrentTime: tracetest.VerifyTime()}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := trace.Verify(t.Context(), st, &tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			switch b := rep.Break; {
			case tc.seq == 0 && b != nil:
				t.Fatalf("Verify: %v", b)
			case tc.seq != 0 && (b == nil || b.Kind != trace.BreakSeal || b.Seq != tc.seq):
				t.Fatalf("Verify: %v; want the seal of record %d refused", b, tc.seq)
			case tc.seq == 0 && rep.Sealed != 10:
				t.Fatalf("Verify: sealed up to %d, want 10", rep.Sealed)
			}
		})
	}
}

// TestVerifyRequireSealed: records after the last seal can be rewritten
// and rehashed without the provider key; Verify finds them consistent,
// and RequireSealed makes them a break.
func TestVerifyRequireSealed(t *testing.T) {
	p := tracetest.TestProvider(t)
	st := memstore.New(nil)
	if err := st.Append(t.Context(), tracetest.NewRecords(0, 12)...); err != nil {
		t.Fatal(err)
	}
	if _, err := trace.SealHead(t.Context(), st, p.Signer, tracetest.Epoch); err != nil {
		t.Fatal(err)
	}
	if err := st.Append(t.Context(), tracetest.NewRecords(12, 3)...); err != nil {
		t.Fatal(err)
	}
	rewrittenTail := &rewritten{st, rechained(t, st, 13, func(r *trace.Record) { r.Subject = "falso" })}
	certs := []*x509.Certificate{p.Signer.Certificate()}
	tests := []struct {
		name string
		st   trace.Store
		opts *trace.VerifyOptions
		seq  uint64 // 0: OK
	}{
		{"Default", st, &trace.VerifyOptions{Certificates: certs}, 0},
		{"RewrittenTailDefault", rewrittenTail, &trace.VerifyOptions{Certificates: certs}, 0},
		{"Required", st, &trace.VerifyOptions{Certificates: certs, RequireSealed: true}, 13},
		{"RewrittenTailRequired", rewrittenTail, &trace.VerifyOptions{Certificates: certs, RequireSealed: true}, 13},
		{"TolerateTwo", st, &trace.VerifyOptions{Certificates: certs, RequireSealed: true, MaxUnsealed: 2}, 13},
		{"TolerateThree", st, &trace.VerifyOptions{Certificates: certs, RequireSealed: true, MaxUnsealed: 3}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := trace.Verify(t.Context(), tc.st, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Sealed != 12 || rep.Unsealed() != 3 {
				t.Fatalf("Verify: sealed %d, unsealed %d; want 12 and 3", rep.Sealed, rep.Unsealed())
			}
			switch b := rep.Break; {
			case tc.seq == 0 && b != nil:
				t.Fatalf("Verify: %v", b)
			case tc.seq != 0 && (b == nil || b.Kind != trace.BreakUnsealed || b.Seq != tc.seq || !errors.Is(b, trace.ErrBroken)):
				t.Fatalf("Verify: %v; want records from %d unsealed", b, tc.seq)
			}
		})
	}
	if _, err := trace.SealHead(t.Context(), st, p.Signer, tracetest.Epoch.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if rep, err := trace.Verify(t.Context(), st, &trace.VerifyOptions{Certificates: certs, RequireSealed: true}); err != nil || !rep.OK() {
		t.Fatalf("Verify of a sealed head with RequireSealed: %v, %v", rep.Err(), err)
	}
}

// TestVerifyWhileAppending: appends made during a walk are never a break.
func TestVerifyWhileAppending(t *testing.T) {
	st := memstore.New(nil)
	p := tracetest.TestProvider(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if err := st.Append(t.Context(), tracetest.NewRecords(w*1000+i*2, 2)...); err != nil {
					t.Error(err)
					return
				}
				if i%10 == 0 {
					if _, err := trace.SealHead(t.Context(), st, p.Signer, tracetest.Epoch); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	for range 20 {
		rep, err := trace.Verify(t.Context(), st, &trace.VerifyOptions{Certificates: []*x509.Certificate{p.Signer.Certificate()}})
		if err != nil || !rep.OK() {
			t.Fatalf("Verify during appends: %v, %v", rep.Err(), err)
		}
	}
	wg.Wait()
	rep, err := trace.Verify(t.Context(), st, nil)
	if err != nil || !rep.OK() || rep.Records != 400 {
		t.Fatalf("Verify after: %+v, %v", rep, err)
	}
	if !errors.Is(&trace.Break{Kind: trace.BreakSeal}, trace.ErrSealMismatch) || errors.Is(&trace.Break{Kind: trace.BreakAltered}, trace.ErrSealMismatch) {
		t.Fatal("Break matches ErrSealMismatch for the wrong kinds")
	}
}
