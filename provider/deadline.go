package provider

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"time"
	"weak"
)

// sessionTimeouts is how many CommandTimeouts an SMTP session may last in
// all. CommandTimeout bounds each command, and go-smtp reads a whole DATA
// under the deadline of its command; but a client that paces its commands
// or BDAT chunks just inside CommandTimeout could otherwise hold a
// connection, and one of the limited slots, for as long as it likes.
const sessionTimeouts = 10

// bound returns l, each connection it accepts ending sessionTimeouts ×
// CommandTimeout after it was accepted, however its client paces its bytes.
func (p *Provider) bound(l net.Listener) net.Listener {
	return &sessionListener{Listener: l, life: sessionTimeouts * p.cfg.CommandTimeout, log: p.cfg.Logger}
}

type sessionListener struct {
	net.Listener
	life time.Duration
	log  *slog.Logger
}

// Accept returns the next connection with its end set. A plain one (TLS
// may come later with STARTTLS) is wrapped so that no deadline the server
// sets goes past the end: the server then answers 421 and closes. go-smtp
// must see a *tls.Conn as it is, so one from an implicit TLS listener is
// closed at the end instead.
func (l *sessionListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	end := time.Now().Add(l.life)
	if tc, ok := c.(*tls.Conn); ok {
		peer := c.RemoteAddr().String()
		w := weak.Make(tc) // a connection closed and dropped is not kept for the timer
		time.AfterFunc(l.life, func() {
			if tc := w.Value(); tc != nil && tc.Close() == nil {
				l.log.Warn("smtp: session too long, closed", "peer", peer, "limit", l.life)
			}
		})
		return c, nil
	}
	sc := &sessionConn{Conn: c, end: end, grace: min(l.life, time.Minute), log: l.log}
	sc.SetDeadline(end)
	return sc, nil
}

// sessionConn is a connection whose read deadlines never go past end, and
// write deadlines past end+grace, time for the last reply.
type sessionConn struct {
	net.Conn
	end    time.Time
	grace  time.Duration
	log    *slog.Logger
	logged bool
}

// Read implements net.Conn, logging the end of a session cut short.
func (c *sessionConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	var ne net.Error
	if err != nil && !c.logged && errors.As(err, &ne) && ne.Timeout() && !time.Now().Before(c.end) {
		c.logged = true
		c.log.Warn("smtp: session too long, closing", "peer", c.RemoteAddr().String())
	}
	return n, err
}

func clamp(t, end time.Time) time.Time {
	if t.IsZero() || t.After(end) {
		return end
	}
	return t
}

// SetDeadline implements net.Conn.
func (c *sessionConn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}

// SetReadDeadline implements net.Conn.
func (c *sessionConn) SetReadDeadline(t time.Time) error {
	return c.Conn.SetReadDeadline(clamp(t, c.end))
}

// SetWriteDeadline implements net.Conn.
func (c *sessionConn) SetWriteDeadline(t time.Time) error {
	return c.Conn.SetWriteDeadline(clamp(t, c.end.Add(c.grace)))
}
