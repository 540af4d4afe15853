package index_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/index"
)

// hangingServer accepts connections and never answers; it returns its
// address.
func hangingServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// TestLDAPHangingServer: a server that accepts and never answers, over
// ldap:// (the search waits) and ldaps:// (the handshake waits): the
// context's deadline ends Load, and a Mirror keeps its snapshot.
func TestLDAPHangingServer(t *testing.T) {
	w := testWorld(t)
	addr := hangingServer(t)
	for _, tc := range []struct {
		name string
		src  *index.LDAP
	}{
		{"ldap", &index.LDAP{URL: "ldap://" + addr}},
		{"ldap-bind", &index.LDAP{URL: "ldap://" + addr, BindDN: "cn=x", Password: "y"}},
		{"ldaps", &index.LDAP{URL: "ldaps://" + addr, TLSConfig: &tls.Config{RootCAs: w.pki.Pool()}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := tc.src.Load(ctx)
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("Load did not end with its context")
			}
			if !errors.Is(err, index.ErrDirectory) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err %v, want ErrDirectory and the deadline", err)
			}
		})
	}
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(50 * time.Millisecond); cancel() }()
		_, err := (&index.LDAP{URL: "ldap://" + addr}).Load(ctx)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want canceled", err)
		}
	})
	t.Run("mirror-keeps-snapshot", func(t *testing.T) {
		good, err := index.New(w.providers)
		if err != nil {
			t.Fatal(err)
		}
		src := &switchSource{snap: good}
		var log bytes.Buffer
		m := index.NewMirror(src, &index.MirrorOptions{Logger: slog.New(slog.NewTextHandler(&log, nil))})
		if err := m.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		src.set(nil, &index.LDAP{URL: "ldap://" + addr})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if err := m.Refresh(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("refresh: %v", err)
		}
		if m.Snapshot() != good {
			t.Fatal("snapshot replaced")
		}
		if !strings.Contains(log.String(), "index refresh failed") || !strings.Contains(log.String(), "deadline exceeded") {
			t.Errorf("failure not logged:\n%s", log.String())
		}
		checkLookups(t, w, m)
	})
}

// switchSource loads a fixed snapshot, or from another source.
type switchSource struct {
	mu    sync.Mutex
	snap  *index.Snapshot
	other index.Source
	err   error
	loads int
}

func (s *switchSource) set(snap *index.Snapshot, other index.Source) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snap, s.other = snap, other
}

func (s *switchSource) Load(ctx context.Context) (*index.Snapshot, error) {
	s.mu.Lock()
	s.loads++
	snap, other, err := s.snap, s.other, s.err
	s.mu.Unlock()
	if other != nil {
		return other.Load(ctx)
	}
	return snap, err
}

// TestMirrorRun drives the schedule with a clock the test owns: the first
// load at once, then one per interval, a retry sooner after a failure.
func TestMirrorRun(t *testing.T) {
	w := testWorld(t)
	good, err := index.New(w.providers)
	if err != nil {
		t.Fatal(err)
	}
	src := &switchSource{snap: good}
	waits := make(chan time.Duration)
	fire := make(chan time.Time)
	refreshed := make(chan index.Status)
	m := index.NewMirror(src, &index.MirrorOptions{
		Interval: 6 * time.Hour,
		Retry:    10 * time.Minute,
		After: func(d time.Duration) <-chan time.Time {
			waits <- d
			return fire
		},
		OnRefresh: func(st index.Status) { refreshed <- st },
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	step := func(want time.Duration) index.Status {
		t.Helper()
		if d := <-waits; d != want {
			t.Fatalf("waits %v, want %v", d, want)
		}
		fire <- time.Now()
		return <-refreshed
	}
	if st := <-refreshed; st.Err != nil || st.Entries != 4 {
		t.Fatalf("first load: %+v", st)
	}
	if st := step(6 * time.Hour); st.Err != nil {
		t.Fatalf("scheduled load: %+v", st)
	}
	src.mu.Lock()
	src.err, src.snap = errors.New("directory down"), nil
	src.mu.Unlock()
	if st := step(6 * time.Hour); st.Err == nil || st.Failures != 1 {
		t.Fatalf("failed load: %+v", st)
	}
	if st := step(10 * time.Minute); st.Failures != 2 {
		t.Fatalf("retry: %+v", st)
	}
	if m.Snapshot() != good {
		t.Fatal("snapshot lost after failures")
	}
	src.mu.Lock()
	src.err, src.snap = nil, good
	src.mu.Unlock()
	if st := step(10 * time.Minute); st.Err != nil || st.Failures != 0 {
		t.Fatalf("recovery: %+v", st)
	}
	<-waits
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	if src.loads != 5 {
		t.Fatalf("%d loads, want 5", src.loads)
	}
}
