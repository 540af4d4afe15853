package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/internal/dovecottest"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/sample"
)

// TestWatch: Watch fetches what is there, then waits; a message delivered
// afterwards is fetched. Over IMAP, Dovecot's IDLE notice brings it long
// before the poll interval; POP3 polls. Cancelling the context ends Watch.
func TestWatch(t *testing.T) {
	set, msgs := seedSet(t)
	msgs = msgs[:3]
	srv := startSeeded(t, msgs)
	for _, tc := range []struct {
		proto client.Protocol
		poll  time.Duration
	}{{client.IMAP, time.Hour}, {client.POP3, 200 * time.Millisecond}} {
		t.Run(string(tc.proto), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			o := fetchOpts(srv, tc.proto, client.SecurityTLS, t.TempDir(), set)
			o.PollInterval = tc.poll
			passes := make(chan *client.FetchResult, 10)
			done := make(chan error, 1)
			go func() {
				done <- client.Watch(ctx, o, func(r *client.FetchResult) error {
					passes <- r
					return nil
				})
			}()
			got := 0
			for got < len(msgs) {
				select {
				case r := <-passes:
					got += len(r.Messages)
				case err := <-done:
					t.Fatalf("Watch ended: %v", err)
				case <-ctx.Done():
					t.Fatalf("first pass: %d of %d", got, len(msgs))
				}
			}
			time.Sleep(300 * time.Millisecond) // Watch is now waiting (IDLE or poll)
			later := []byte("From: x@example.test\r\nSubject: later\r\nMessage-ID: <watch-" + string(tc.proto) + "@example.test>\r\n\r\nnew\r\n")
			if err := srv.Deliver(sample.Alice, later); err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			select {
			case r := <-passes:
				if len(r.Messages) != 1 || r.Messages[0].Message.Kind != pec.KindUnknown {
					t.Errorf("pass after delivery: %+v", r)
				}
				t.Logf("%s: new message fetched %v after delivery", tc.proto, time.Since(t0))
			case err := <-done:
				t.Fatalf("Watch ended: %v", err)
			case <-time.After(15 * time.Second):
				t.Fatal("the new message was not fetched")
			}
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Watch returned %v, want context.Canceled", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Watch did not end with its context")
			}
		})
	}
}

// TestWatchReconnects: a connection cut while Watch fetches is reopened;
// the message being fetched arrives, once.
func TestWatchReconnects(t *testing.T) {
	set, msgs := seedSet(t)
	srv := startSeeded(t, msgs[:2])
	proxy := dovecottest.NewProxy(t, srv.IMAPS)
	proxy.CutAfter(60000) // the first pass fits; the big message below does not
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o := fetchOpts(srv, client.IMAP, client.SecurityTLS, t.TempDir(), set)
	o.Server = endpoint(proxy.Addr, client.SecurityTLS)
	o.PollInterval = 200 * time.Millisecond
	passes := make(chan *client.FetchResult, 10)
	done := make(chan error, 1)
	go func() {
		done <- client.Watch(ctx, o, func(r *client.FetchResult) error { passes <- r; return nil })
	}()
	if r := <-passes; len(r.Messages) != 2 {
		t.Fatalf("first pass: %d messages", len(r.Messages))
	}
	proxy.CutAfter(0) // connections opened from now on are not cut
	big := []byte("From: x@example.test\r\nSubject: big\r\nMessage-ID: <big@example.test>\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 5000))
	if err := srv.Deliver(sample.Alice, big); err != nil {
		t.Fatal(err)
	}
	got := 0
	deadline := time.After(20 * time.Second)
	for got == 0 {
		select {
		case r := <-passes:
			got += len(r.Messages)
		case err := <-done:
			t.Fatalf("Watch ended: %v", err)
		case <-deadline:
			t.Fatal("the big message never arrived")
		}
	}
	if got != 1 || proxy.Cuts() != 1 {
		t.Errorf("%d messages after the cut, %d cuts", got, proxy.Cuts())
	}
	cancel()
	<-done
}
