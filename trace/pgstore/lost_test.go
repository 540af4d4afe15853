package pgstore_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/pgstore"
	"github.com/pecsdk/pec/trace/pgstore/pgtest"
	"github.com/pecsdk/pec/trace/tracetest"
)

// Proxy modes: relay everything, or cut the connection that carries a
// COMMIT once, after relaying it (the server commits, the client never
// hears) or instead of relaying it (the server never commits).
const (
	relay int32 = iota
	cutAfterCommit
	cutBeforeCommit
)

// cancelRequestCode opens a CancelRequest message of the PostgreSQL
// protocol.
const cancelRequestCode = 80877102

// cutProxy is a loopback TCP proxy in front of the server.
type cutProxy struct {
	l      net.Listener
	target string
	mode   atomic.Int32
	wg     sync.WaitGroup
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{l: l, target: target}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() { defer p.wg.Done(); p.serve(c) }()
		}
	}()
	t.Cleanup(func() { l.Close(); p.wg.Wait() })
	return p
}

func (p *cutProxy) serve(client net.Conn) {
	defer client.Close()
	// When pgx finds a connection broken it sends a cancel request for
	// it, which could abort the transaction still running on the server:
	// the cut stands for a network that lost the connection, and that
	// request is lost with it.
	var first [8]byte
	if _, err := io.ReadFull(client, first[:]); err != nil || binary.BigEndian.Uint32(first[4:]) == cancelRequestCode {
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	if _, err := server.Write(first[:]); err != nil {
		return
	}
	var cut atomic.Bool // nothing more goes back to the client
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 && !cut.Load() {
				client.Write(buf[:n])
			}
			if err != nil {
				client.Close()
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	syncMsg := []byte{'S', 0, 0, 0, 4}
	cutting := false
	var tail []byte // the end of the chunk before, for a match across two
	for {
		n, err := client.Read(buf)
		chunk := buf[:n]
		seen := append(tail, chunk...)
		tail = append([]byte(nil), seen[max(0, len(seen)-8):]...)
		if !cutting && bytes.Contains(seen, []byte("COMMIT\x00")) {
			switch {
			case p.mode.CompareAndSwap(cutAfterCommit, relay):
				cut.Store(true)
				cutting = true
			case p.mode.CompareAndSwap(cutBeforeCommit, relay):
				return
			}
		}
		if n > 0 {
			server.Write(chunk)
		}
		if cutting && bytes.HasSuffix(chunk, syncMsg) {
			return // the whole pipeline reached the server
		}
		if err != nil {
			return
		}
	}
}

// TestConnectionLost cuts the connection of an append's COMMIT: after the
// server got it, Append still reports success, as the log then holds the
// records; before, it reports the failure, and the log does not.
func TestConnectionLost(t *testing.T) {
	db, err := url.Parse(pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	p := newCutProxy(t, db.Host)
	db.Host = p.l.Addr().String()
	q := db.Query()
	q.Set("default_query_exec_mode", "exec") // SQL text on every query
	db.RawQuery = q.Encode()
	var logged bytes.Buffer
	st := open(t, db.String(), &pgstore.Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})

	p.mode.Store(cutAfterCommit)
	r := tracetest.NewRecord(0)
	if err := st.Append(ctx(t), r); err != nil {
		t.Fatalf("Append whose COMMIT reached the server: %v", err)
	}
	if p.mode.Load() != relay {
		t.Fatal("the proxy did not cut")
	}
	if !strings.Contains(logged.String(), "committed despite a failed connection") {
		t.Fatalf("the append did not go through a lost connection:\n%s", logged.String())
	}
	got, err := st.Get(ctx(t), 1)
	if err != nil || r.Seq != 1 || got.Hash != r.Hash {
		t.Fatalf("Get(1): %v; Seq %d", err, r.Seq)
	}

	p.mode.Store(cutBeforeCommit)
	lost := tracetest.NewRecord(1)
	err = st.Append(ctx(t), lost)
	if err == nil || errors.Is(err, pgstore.ErrUnknown) || lost.Seq != 0 {
		t.Fatalf("Append whose COMMIT never reached the server: %v, Seq %d", err, lost.Seq)
	}
	if p.mode.Load() != relay {
		t.Fatal("the proxy did not cut")
	}
	t.Logf("Append: %v", err)
	if seq, _, err := st.Head(ctx(t)); err != nil || seq != 1 {
		t.Fatalf("Head %d, %v; want 1", seq, err)
	}
	next := tracetest.NewRecord(2)
	if err := st.Append(ctx(t), next); err != nil || next.Seq != 2 || next.Prev != r.Hash {
		t.Fatalf("the next Append: %v, Seq %d", err, next.Seq)
	}
	var n int
	if err := st.Scan(ctx(t), 0, func(*trace.Record) error { n++; return nil }); err != nil || n != 2 {
		t.Fatalf("%d records, %v; want 2", n, err)
	}
}
