package dovecottest

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy is a loopback TCP proxy that can cut a connection after a number of
// bytes from the server, as a network failure in the middle of a fetch.
type Proxy struct {
	Addr string // where clients connect

	target string
	cut    atomic.Int64
	cuts   atomic.Int64
	l      net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
}

// NewProxy starts a proxy to target and stops it at the end of the test.
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{Addr: l.Addr().String(), target: target, l: l, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	tb.Cleanup(p.close)
	return p
}

// CutAfter makes new connections drop after n bytes from the server; 0
// lets them run.
func (p *Proxy) CutAfter(n int64) { p.cut.Store(n) }

// Cuts returns how many connections the proxy has cut.
func (p *Proxy) Cuts() int64 { return p.cuts.Load() }

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(c, p.cut.Load())
		}()
	}
}

func (p *Proxy) track(c net.Conn, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *Proxy) handle(client net.Conn, cut int64) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.track(client, true)
	p.track(server, true)
	defer func() {
		client.Close()
		server.Close()
		p.track(client, false)
		p.track(server, false)
	}()
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(server, client)
		server.Close()
		done <- struct{}{}
	}()
	go func() {
		if cut > 0 {
			n, _ := io.CopyN(client, server, cut)
			if n == cut {
				p.cuts.Add(1)
			}
		} else {
			_, _ = io.Copy(client, server)
		}
		client.Close()
		server.Close()
		done <- struct{}{}
	}()
	<-done
	<-done
}

func (p *Proxy) close() {
	p.l.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
