package trace_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"testing"

	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/memstore"
	"github.com/pecsdk/pec/trace/tracetest"
)

// The floor of ComputeHash: SHA-256 over as many bytes as a record's
// chained encoding.
func BenchmarkSHA256Raw(b *testing.B) {
	r := chained(8)[7]
	enc, _ := r.MarshalBinary()
	n := len(enc) - len(r.Message)
	buf := bytes.Repeat([]byte{1}, n)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		sha256.Sum256(buf)
	}
}

func BenchmarkComputeHash(b *testing.B) {
	r := chained(8)[7]
	enc, _ := r.MarshalBinary()
	b.SetBytes(int64(len(enc) - len(r.Message)))
	b.ReportAllocs()
	for b.Loop() {
		r.ComputeHash()
	}
}

func BenchmarkMarshalBinary(b *testing.B) {
	r := chained(8)[7]
	b.ReportAllocs()
	for b.Loop() {
		r.MarshalBinary()
	}
}

func BenchmarkUnmarshalBinary(b *testing.B) {
	enc, _ := chained(8)[7].MarshalBinary()
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		var r trace.Record
		if err := r.UnmarshalBinary(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify walks a log of 10,000 records in memory, with a seal
// every 1,000: the cost of Verify per record beside ComputeHash's.
func BenchmarkVerify(b *testing.B) {
	st := memstore.New(nil)
	p := tracetest.TestProvider(b)
	const n = 10000
	for i := 0; i < n; i += 1000 {
		if err := st.Append(b.Context(), tracetest.NewRecords(i, 1000)...); err != nil {
			b.Fatal(err)
		}
		if _, err := trace.SealHead(b.Context(), st, p.Signer, tracetest.Epoch); err != nil {
			b.Fatal(err)
		}
	}
	opts := &trace.VerifyOptions{Certificates: []*x509.Certificate{p.Signer.Certificate()}}
	b.ReportAllocs()
	for b.Loop() {
		rep, err := trace.Verify(b.Context(), st, opts)
		if err != nil || !rep.OK() {
			b.Fatal(rep.Err(), err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

// The floor of NewSeal: the detached signature alone.
func BenchmarkSignDetachedRaw(b *testing.B) {
	s := tracetest.TestProvider(b).Signer
	content := (&trace.Seal{Seq: 1, Time: tracetest.Epoch}).SignedBytes()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.SignDetached(bytes.NewReader(content), tracetest.Epoch); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewSeal(b *testing.B) {
	s := tracetest.TestProvider(b).Signer
	b.ReportAllocs()
	for b.Loop() {
		if _, err := trace.NewSeal(1, trace.Hash{1}, tracetest.Epoch, s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSealVerify(b *testing.B) {
	s, err := trace.NewSeal(1, trace.Hash{1}, tracetest.Epoch, tracetest.TestProvider(b).Signer)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if v := s.Verify(nil); !v.Intact {
			b.Fatal(v.Problems)
		}
	}
}

// BenchmarkMemstoreAppend appends single records from parallel writers,
// the reference for the durable stores' figures.
func BenchmarkMemstoreAppend(b *testing.B) {
	st := memstore.New(nil)
	recs := tracetest.NewRecords(0, 1000)
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r := recs[i%len(recs)].Clone()
			if err := st.Append(b.Context(), r); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkValidate: Validate on the records of the conformance suite, as
// every store's Append runs it.
func BenchmarkValidate(b *testing.B) {
	recs := tracetest.NewRecords(0, 64)
	for _, r := range recs {
		r.Chain(1, trace.Hash{}) // MessageHash set, as on a record appended before
	}
	i := 0
	for b.Loop() {
		if err := recs[i%len(recs)].Validate(); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
