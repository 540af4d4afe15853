package trace

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/pecsdk/pec/pec/smime"
)

// SealHead seals the store's head at now with signer and stores the seal.
// It returns nil and no error when there is nothing new to seal: the log
// is empty, or its head is already sealed (or is the checkpoint).
func SealHead(ctx context.Context, st Store, signer *smime.Signer, now time.Time) (*Seal, error) {
	seq, head, err := st.Head(ctx)
	if err != nil || seq == 0 {
		return nil, err
	}
	seals, err := st.Seals(ctx)
	if err != nil {
		return nil, err
	}
	if n := len(seals); n > 0 && seals[n-1].Seq >= seq {
		return nil, nil
	}
	if cp, err := st.Checkpoint(ctx); err != nil {
		return nil, err
	} else if cp != nil && cp.Seq >= seq {
		return nil, nil
	}
	s, err := NewSeal(seq, head, now, signer)
	if err != nil {
		return nil, err
	}
	if err := st.AddSeal(ctx, s); err != nil {
		return nil, err
	}
	return s, nil
}

// DefaultSealInterval is the Sealer's interval when none is set.
const DefaultSealInterval = time.Hour

// Sealer seals a store's head at intervals, so that at most one interval
// of records is protected by the chain alone.
type Sealer struct {
	Store  Store
	Signer *smime.Signer
	// Interval between seals; zero means DefaultSealInterval.
	Interval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Tick, when set, replaces the ticker of Interval: a seal is made at
	// every value received.
	Tick <-chan time.Time
	// Logger receives a line per seal and per failure; nil is silent.
	Logger *slog.Logger
}

// Run seals at every tick until ctx ends, then seals once more so that
// what was appended before the end is covered, and returns the error of
// that last seal. A failure at a tick is logged and retried at the next.
func (s *Sealer) Run(ctx context.Context) error {
	tick := s.Tick
	if tick == nil {
		iv := s.Interval
		if iv <= 0 {
			iv = DefaultSealInterval
		}
		t := time.NewTicker(iv)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			c, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			_, err := s.seal(c)
			return err
		case <-tick:
			s.seal(ctx)
		}
	}
}

func (s *Sealer) seal(ctx context.Context) (*Seal, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	seal, err := SealHead(ctx, s.Store, s.Signer, now())
	log := s.Logger
	switch {
	case log == nil:
	case err != nil && !errors.Is(err, context.Canceled):
		log.Error("trace: sealing the head failed", "err", err)
	case seal != nil:
		log.Info("trace: sealed", "seq", seal.Seq, "time", seal.Time)
	}
	return seal, err
}
