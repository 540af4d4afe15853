package trace_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/memstore"
	"github.com/pecsdk/pec/trace/tracetest"
)

// syncBuffer is a log destination safe for the Sealer's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSealer(t *testing.T) {
	st := memstore.New(nil)
	p := tracetest.TestProvider(t)
	tick := make(chan time.Time) // unbuffered: a send returns once Run took the previous tick
	clock := tracetest.Epoch
	var logs syncBuffer
	s := &trace.Sealer{Store: st, Signer: p.Signer, Tick: tick, Now: func() time.Time { return clock },
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	seals := func() []uint64 {
		l, err := st.Seals(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var out []uint64
		for _, x := range l {
			out = append(out, x.Seq)
		}
		return out
	}
	tick <- clock // an empty log: nothing to seal
	if err := st.Append(t.Context(), tracetest.NewRecords(0, 3)...); err != nil {
		t.Fatal(err)
	}
	tick <- clock
	tick <- clock // the head is sealed already: no second seal
	if got := seals(); len(got) != 1 || got[0] != 3 {
		t.Fatalf("seals after two ticks over 3 records: %v", got)
	}
	if err := st.Append(t.Context(), tracetest.NewRecords(3, 2)...); err != nil {
		t.Fatal(err)
	}
	cancel() // Run seals once more on its way out
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := seals(); len(got) != 2 || got[1] != 5 {
		t.Fatalf("seals after Run ended: %v", got)
	}
	rep, err := trace.Verify(t.Context(), st, &trace.VerifyOptions{Certificates: []*x509.Certificate{p.Signer.Certificate()}})
	if err != nil || !rep.OK() || rep.Sealed != 5 || rep.Seals != 2 {
		t.Fatalf("Verify: %+v, %v", rep, err)
	}
	if n := strings.Count(logs.String(), "trace: sealed"); n != 2 {
		t.Fatalf("%d log lines for 2 seals:\n%s", n, logs.String())
	}
}

func TestSealerFailure(t *testing.T) {
	st := memstore.New(nil)
	if err := st.Append(t.Context(), tracetest.NewRecord(0)); err != nil {
		t.Fatal(err)
	}
	st.Close()
	var logs syncBuffer
	tick := make(chan time.Time)
	s := &trace.Sealer{Store: st, Signer: tracetest.TestProvider(t).Signer, Tick: tick, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	tick <- time.Now()
	tick <- time.Now()
	cancel()
	if err := <-done; !errors.Is(err, trace.ErrClosed) {
		t.Fatalf("Run over a closed store: %v, want ErrClosed", err)
	}
	if n := strings.Count(logs.String(), "sealing the head failed"); n < 2 {
		t.Fatalf("failures at ticks were not logged:\n%s", logs.String())
	}
}

func TestSealNoSigner(t *testing.T) {
	if _, err := trace.NewSeal(1, trace.Hash{}, time.Now(), nil); err == nil {
		t.Fatal("NewSeal without a signer succeeded")
	}
	if _, err := trace.Prune(t.Context(), memstore.New(nil), time.Now(), nil, time.Now(), nil); err == nil {
		t.Fatal("Prune without a signer succeeded")
	}
}
