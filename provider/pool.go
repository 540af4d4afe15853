package provider

import (
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// defaultMaxIdle is how many connections are kept per server when the
// pool is not told.
const defaultMaxIdle = 8

// pool keeps SMTP connections to other servers open between transactions,
// so that a busy route does not pay a TCP and TLS handshake per message.
// A connection is kept for half the command timeout at most, well within
// the time a server waits for the next command (RFC 5321 §4.5.3.2.7).
type pool struct {
	mu     sync.Mutex
	idle   map[poolKey][]*pooledConn
	maxAge time.Duration
	// maxIdle is how many connections are kept per server: as many as
	// the workers that may relay to it at once, so that a burst does
	// not pay the handshakes of the connections it could not keep.
	maxIdle int
	now     func() time.Time
	closed  bool
}

type poolKey struct {
	addr       string
	requireTLS bool
}

type pooledConn struct {
	c    *smtp.Client
	conn net.Conn // under c, to cut it when a context ends
	at   time.Time
}

// get returns a kept connection to key, or nil.
func (p *pool) get(key poolKey) (*pooledConn, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for l := p.idle[key]; len(l) > 0; l = p.idle[key] {
		pc := l[len(l)-1]
		p.idle[key] = l[:len(l)-1]
		if now.Sub(pc.at) < p.maxAge {
			return pc, true
		}
		go pc.c.Close()
	}
	return nil, false
}

// put keeps pc for the next transaction to key, or closes it.
func (p *pool) put(key poolKey, pc *pooledConn, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	limit := p.maxIdle
	if limit <= 0 {
		limit = defaultMaxIdle
	}
	if p.closed || len(p.idle[key]) >= limit {
		go pc.c.Quit() //nolint:errcheck // closing
		return
	}
	pc.at = now
	if p.idle == nil {
		p.idle = make(map[poolKey][]*pooledConn)
	}
	p.idle[key] = append(p.idle[key], pc)
}

// close closes every kept connection.
func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for k, l := range p.idle {
		for _, pc := range l {
			pc.c.Close()
		}
		delete(p.idle, k)
	}
}
