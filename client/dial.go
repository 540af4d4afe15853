package client

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"time"
)

// defaultTimeout is the inactivity limit of one network exchange when the
// options leave it zero.
const defaultTimeout = 2 * time.Minute

// AuthMethod selects how a client logs in.
type AuthMethod string

// Authentication methods. The empty method picks the best one the server
// offers: SASL PLAIN, else LOGIN (SMTP) or the protocol's own password
// command (IMAP LOGIN, POP3 USER/PASS).
const (
	AuthPlain    AuthMethod = "PLAIN"    // SASL PLAIN (RFC 4616)
	AuthLogin    AuthMethod = "LOGIN"    // SASL LOGIN (SMTP only; draft-murchison-sasl-login)
	AuthPassword AuthMethod = "PASSWORD" // IMAP LOGIN or POP3 USER/PASS
)

// tlsConfigFor returns a copy of conf (nil: defaults) with the server name
// taken from addr when unset.
func tlsConfigFor(conf *tls.Config, addr string) *tls.Config {
	if conf == nil {
		conf = &tls.Config{}
	}
	conf = conf.Clone()
	if conf.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			conf.ServerName = host
		}
	}
	if conf.MinVersion == 0 {
		conf.MinVersion = tls.VersionTLS12
	}
	return conf
}

// handshake runs the TLS handshake within ctx and timeout.
func handshake(ctx context.Context, c *tls.Conn, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return c.HandshakeContext(ctx)
}

// dialTLS connects to addr, with implicit TLS unless sec is STARTTLS (the
// caller then upgrades the connection in its protocol). An unknown sec is
// ErrSecurity, before any connection.
func dialTLS(ctx context.Context, addr string, sec Security, conf *tls.Config, timeout time.Duration) (net.Conn, error) {
	if err := sec.check(); err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	d := net.Dialer{Timeout: timeout}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if sec == SecurityStartTLS {
		return raw, nil
	}
	tc := tls.Client(raw, tlsConfigFor(conf, addr))
	if err := handshake(ctx, tc, timeout); err != nil {
		raw.Close()
		return nil, err
	}
	return tc, nil
}

// debugConn copies the traffic of a connection to a wire trace.
type debugConn struct {
	rw io.ReadWriter
	w  io.Writer
}

func (d debugConn) Read(p []byte) (int, error) {
	n, err := d.rw.Read(p)
	if n > 0 {
		d.w.Write(p[:n])
	}
	return n, err
}

func (d debugConn) Write(p []byte) (int, error) {
	d.w.Write(p)
	return d.rw.Write(p)
}
