package provider

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// slowReader hands its bytes in small pieces, as a network does.
type slowReader struct{ r io.Reader }

func (s *slowReader) Read(p []byte) (int, error) {
	time.Sleep(50 * time.Microsecond)
	return s.r.Read(p[:min(len(p), 8<<10)])
}

// TestReadDataBound reads many large bodies at once through a small
// budget: the memory held never passes it, each body is read whole or
// refused with a 452, and the budget is all given back.
func TestReadDataBound(t *testing.T) {
	const budget = 1 << 20
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const bodies, size = 24, 300 << 10
	p := &Provider{ctx: ctx, cfg: Config{Logger: slog.New(slog.DiscardHandler)}, mem: newMemBudget(budget, size+1)}
	small, slots := p.mem.small, p.mem.slots
	if slots < 2 || small < dataChunk || small+int64(slots)*p.mem.max > budget {
		t.Fatalf("%d slots, %d bytes for the starts of bodies", slots, small)
	}
	var (
		wg                sync.WaitGroup
		mu                sync.Mutex
		accepted, refused int
	)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := bytes.Repeat([]byte{byte('a' + i%26)}, size)
			body, release, err := p.readData(&slowReader{bytes.NewReader(want)}, 2*time.Second)
			mu.Lock()
			defer mu.Unlock()
			if errors.Is(err, errDataMemory) {
				refused++
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			if !bytes.Equal(body, want) {
				t.Errorf("body %d: %d bytes, not those sent", i, len(body))
			}
			accepted++
			time.Sleep(time.Millisecond) // held while spooled
			release()
		}()
	}
	wg.Wait()
	if accepted != bodies || refused != 0 {
		t.Fatalf("%d read, %d refused: phases held each other up", accepted, refused)
	}
	if p.mem.peak > budget {
		t.Fatalf("%d bytes held at once, over the budget of %d", p.mem.peak, budget)
	}
	if p.mem.small != small || p.mem.slots != slots || p.mem.inUse != 0 {
		t.Fatalf("after all: %d bytes and %d slots free, %d in use; want %d and %d", p.mem.small, p.mem.slots, p.mem.inUse, small, slots)
	}
	t.Logf("%d read, %d refused; peak %d of %d", accepted, refused, p.mem.peak, budget)
}

// TestReadDataStop: a DATA phase waiting for memory gives up when the
// provider stops.
func TestReadDataStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := &Provider{ctx: ctx, cfg: Config{Logger: slog.New(slog.DiscardHandler)}, mem: newMemBudget(2*dataChunk, dataChunk)}
	if err := p.mem.chunk(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := p.readData(bytes.NewReader([]byte("x")), time.Hour)
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, errDataMemory) {
			t.Fatalf("readData after the stop: %v, want the 452", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("readData still waiting after the stop")
	}
}

// cutReader gives some bytes, then fails as a connection cut in the
// middle of DATA does.
type cutReader struct{ done bool }

func (c *cutReader) Read(p []byte) (int, error) {
	if c.done {
		return 0, io.ErrUnexpectedEOF
	}
	c.done = true
	return copy(p, "Subject: cut\r\n\r\nhalf"), nil
}

// TestReadDataCut: a body cut short is an error, not a message, and its
// memory is given back.
func TestReadDataCut(t *testing.T) {
	p := &Provider{ctx: context.Background(), cfg: Config{Logger: slog.New(slog.DiscardHandler)}, mem: newMemBudget(4*dataChunk, dataChunk)}
	small := p.mem.small
	if _, _, err := p.readData(&cutReader{}, time.Second); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("readData of a cut body: %v, want io.ErrUnexpectedEOF", err)
	}
	if p.mem.small != small || p.mem.inUse != 0 {
		t.Fatalf("after a cut body: %d free, %d in use", p.mem.small, p.mem.inUse)
	}
}
