package imap

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/pecsdk/pec/provider/mailbox"
)

// TestShutdown lets a session finish, refuses new ones, then gives up on
// a session that does not end in time.
func TestShutdown(t *testing.T) {
	f := start(t, nil, nil)
	f.deliver(t, mailbox.Inbox, msg1)
	c := f.login(t, nil)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- f.srv.Shutdown(ctx)
	}()
	if !dialRefused(f.imaps) {
		t.Error("new connections still accepted during Shutdown")
	}
	if sel, err := c.Select("INBOX", nil).Wait(); err != nil || sel.NumMessages != 1 {
		t.Errorf("SELECT during Shutdown = %+v, %v", sel, err)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Error(err)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown = %v", err)
	}

	g := start(t, nil, nil)
	idle := g.raw(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := g.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown with a session left = %v", err)
	}
	if !idle.closed(5 * time.Second) {
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
