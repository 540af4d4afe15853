package pop3

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// TestShutdown lets a session finish, refuses new ones, then gives up on
// a session that does not end in time.
func TestShutdown(t *testing.T) {
	f := start(t, nil)
	f.deliver(t, msg1)
	c := f.dialTLS(t)
	c.login()
	c.cmd("DELE 1", "+OK")
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- f.srv.Shutdown(ctx)
	}()
	if !dialRefused(f.pop3s) {
		t.Error("new connections still accepted during Shutdown")
	}
	c.cmd("STAT", "+OK 0 0")
	c.cmd("QUIT", "+OK")
	if err := <-done; err != nil {
		t.Errorf("Shutdown = %v", err)
	}

	g := start(t, nil)
	idle := g.dialTLS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := g.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown with a session left = %v", err)
	}
	idle.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.r.ReadByte(); err == nil {
		t.Error("session open after Shutdown gave up")
	}
}

// dialRefused reports whether connections to addr are refused, within 5s.
func dialRefused(addr string) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return true
		}
		c.Close()
	}
	return false
}
