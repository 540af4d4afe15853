package client

// A small POP3 client (RFC 1939), with STLS (RFC 2595 §4), CAPA (RFC 2449)
// and AUTH PLAIN (RFC 5034, RFC 4616): what fetching a PEC mailbox needs
// (PEC.md §15.1). Every wait honours the context and an inactivity timeout.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// pop3Error is a -ERR reply.
type pop3Error struct {
	Command string // the command, without arguments
	Text    string // the reply text after -ERR
}

func (e *pop3Error) Error() string {
	return fmt.Sprintf("pop3: %s: -ERR %s", e.Command, e.Text)
}

// pop3Msg is one line of a UIDL listing.
type pop3Msg struct {
	Num int    // message number in this session
	UID string // unique-id, stable across sessions (RFC 1939 §7)
}

// pop3Conn is a POP3 session.
type pop3Conn struct {
	conn    net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	caps    map[string]string // CAPA: capability → argument
	timeout time.Duration     // inactivity limit of one command
	debug   io.Writer
}

// dialPOP3 connects to addr with implicit TLS, or in the clear followed by
// STLS, and reads the greeting and the capabilities. The connection is
// never left unencrypted: a server without STLS is refused.
func dialPOP3(ctx context.Context, addr string, sec Security, conf *tls.Config, timeout time.Duration, debug io.Writer) (*pop3Conn, error) {
	conf = tlsConfigFor(conf, addr)
	conn, err := dialTLS(ctx, addr, sec, conf, timeout)
	if err != nil {
		return nil, fmt.Errorf("pop3: %s: %w", addr, err)
	}
	c := newPOP3Conn(conn, timeout, debug)
	err = c.do(ctx, func() error {
		_, err := c.reply("greeting")
		return err
	})
	if err == nil {
		err = c.capa(ctx)
	}
	if err == nil && sec == SecurityStartTLS {
		err = c.stls(ctx, conf)
	}
	if err != nil {
		c.conn.Close()
		return nil, err
	}
	return c, nil
}

func newPOP3Conn(conn net.Conn, timeout time.Duration, debug io.Writer) *pop3Conn {
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	c := &pop3Conn{conn: conn, timeout: timeout, debug: debug}
	c.setConn(conn)
	return c
}

func (c *pop3Conn) setConn(conn net.Conn) {
	c.conn = conn
	var rw io.ReadWriter = conn
	if c.debug != nil {
		rw = debugConn{conn, c.debug}
	}
	c.r = bufio.NewReaderSize(rw, 32<<10)
	c.w = bufio.NewWriter(rw)
}

// do runs f with the connection bound to ctx: its deadline, its
// cancellation, and the inactivity timeout (extended as data arrives, see
// deadlineReader).
func (c *pop3Conn) do(ctx context.Context, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.extend(ctx)
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	err := f()
	if dl, ok := ctx.Deadline(); ok && err != nil && !time.Now().Before(dl) {
		// The connection deadline was the context's.
		return fmt.Errorf("pop3: %w (%v)", context.DeadlineExceeded, err)
	}
	if !stop() || ctx.Err() != nil {
		// The context ended the wait: say so rather than "i/o timeout".
		return fmt.Errorf("pop3: %w (%v)", ctx.Err(), err)
	}
	_ = c.conn.SetDeadline(time.Time{})
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("pop3: no answer within %v: %w", c.timeout, err)
	}
	return err
}

// extend moves the connection deadline to timeout from now, or ctx's
// deadline if earlier.
func (c *pop3Conn) extend(ctx context.Context) {
	d := time.Now().Add(c.timeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	_ = c.conn.SetDeadline(d)
}

// cmd sends one command line.
func (c *pop3Conn) cmd(format string, args ...any) error {
	if _, err := fmt.Fprintf(c.w, format+"\r\n", args...); err != nil {
		return err
	}
	return c.w.Flush()
}

// reply reads a status line: the text after +OK, or a *pop3Error.
func (c *pop3Conn) reply(command string) (string, error) {
	line, err := c.line()
	if err != nil {
		return "", fmt.Errorf("pop3: %s: %w", command, err)
	}
	switch {
	case strings.HasPrefix(line, "+OK"):
		return strings.TrimSpace(line[3:]), nil
	case strings.HasPrefix(line, "-ERR"):
		return "", &pop3Error{Command: command, Text: strings.TrimSpace(line[4:])}
	case strings.HasPrefix(line, "+ ") || line == "+":
		return strings.TrimSpace(strings.TrimPrefix(line, "+")), errContinue
	}
	return "", fmt.Errorf("pop3: %s: malformed reply %q", command, truncate(line, 80))
}

var errContinue = errors.New("pop3: continuation")

// line reads one reply line, without its CRLF. Lines past 4 KiB are an
// error, not an unbounded allocation.
func (c *pop3Conn) line() (string, error) {
	var b []byte
	for {
		chunk, err := c.r.ReadSlice('\n')
		b = append(b, chunk...)
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		if len(b) > 4096 {
			return "", errors.New("reply line too long")
		}
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// simple sends a command and reads its status line.
func (c *pop3Conn) simple(ctx context.Context, name, format string, args ...any) (string, error) {
	var text string
	err := c.do(ctx, func() error {
		if err := c.cmd(format, args...); err != nil {
			return err
		}
		var err error
		text, err = c.reply(name)
		return err
	})
	return text, err
}

// multi sends a command and calls each for every line of the multi-line
// answer (RFC 1939 §3), dot-unstuffed.
func (c *pop3Conn) multi(ctx context.Context, name string, each func(line string) error, format string, args ...any) error {
	return c.do(ctx, func() error {
		if err := c.cmd(format, args...); err != nil {
			return err
		}
		if _, err := c.reply(name); err != nil {
			return err
		}
		for {
			l, err := c.line()
			if err != nil {
				return fmt.Errorf("pop3: %s: %w", name, err)
			}
			if l == "." {
				return nil
			}
			if strings.HasPrefix(l, ".") {
				l = l[1:]
			}
			if err := each(l); err != nil {
				return err
			}
		}
	})
}

// capa reads the capabilities; a server without CAPA has none.
func (c *pop3Conn) capa(ctx context.Context) error {
	caps := map[string]string{}
	err := c.multi(ctx, "CAPA", func(l string) error {
		name, arg, _ := strings.Cut(l, " ")
		caps[strings.ToUpper(name)] = arg
		return nil
	}, "CAPA")
	var pe *pop3Error
	if err != nil && !errors.As(err, &pe) {
		return err
	}
	c.caps = caps
	return nil
}

// stls upgrades the connection to TLS (RFC 2595 §4).
func (c *pop3Conn) stls(ctx context.Context, conf *tls.Config) error {
	if _, ok := c.caps["STLS"]; !ok {
		return fmt.Errorf("pop3: %w: the server does not offer STLS", ErrInsecure)
	}
	if _, err := c.simple(ctx, "STLS", "STLS"); err != nil {
		return err
	}
	if c.r.Buffered() > 0 {
		return errors.New("pop3: STLS: data after the reply, before TLS")
	}
	tc := tls.Client(c.conn, conf)
	if err := handshake(ctx, tc, c.timeout); err != nil {
		return fmt.Errorf("pop3: STLS: %w", err)
	}
	c.setConn(tc)
	return c.capa(ctx) // RFC 2595 §4: capabilities may change
}

// auth logs in with AUTH PLAIN when the server offers it (or when method
// asks for it), else USER and PASS. A refusal is ErrAuth.
func (c *pop3Conn) auth(ctx context.Context, method AuthMethod, user, pass string) error {
	plain := strings.Contains(" "+strings.ToUpper(c.caps["SASL"])+" ", " PLAIN ")
	var err error
	switch {
	case method == AuthPlain || (method == "" && plain):
		ir := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
		err = c.do(ctx, func() error {
			if err := c.cmd("AUTH PLAIN %s", ir); err != nil {
				return err
			}
			_, err := c.reply("AUTH")
			if err == errContinue { // a server that ignores the initial response
				if err := c.cmd("%s", ir); err != nil {
					return err
				}
				_, err = c.reply("AUTH")
			}
			return err
		})
	case method == "" || method == AuthPassword:
		if _, err = c.simple(ctx, "USER", "USER %s", user); err == nil {
			_, err = c.simple(ctx, "PASS", "PASS %s", pass)
		}
	default:
		return fmt.Errorf("pop3: authentication method %q not supported", method)
	}
	var pe *pop3Error
	if errors.As(err, &pe) {
		return fmt.Errorf("%w: %s as %s: %v", ErrAuth, c.conn.RemoteAddr(), user, err)
	}
	return err
}

// uidl lists the messages with their unique ids.
func (c *pop3Conn) uidl(ctx context.Context) ([]pop3Msg, error) {
	var msgs []pop3Msg
	err := c.multi(ctx, "UIDL", func(l string) error {
		num, uid, ok := strings.Cut(strings.TrimSpace(l), " ")
		n, err := strconv.Atoi(num)
		uid = strings.TrimSpace(uid)
		if !ok || err != nil || n <= 0 || uid == "" {
			return fmt.Errorf("pop3: UIDL: malformed line %q", truncate(l, 80))
		}
		msgs = append(msgs, pop3Msg{Num: n, UID: uid})
		return nil
	}, "UIDL")
	return msgs, err
}

// retr retrieves message n and hands f its dot-unstuffed bytes, CRLF line
// ends kept as sent. f must read to EOF or return an error; an error from
// f leaves the session unusable.
func (c *pop3Conn) retr(ctx context.Context, n int, f func(io.Reader) error) error {
	return c.do(ctx, func() error {
		if err := c.cmd("RETR %d", n); err != nil {
			return err
		}
		if _, err := c.reply("RETR"); err != nil {
			return err
		}
		dr := &dotReader{r: c.r, bol: true, onData: func() { c.extend(ctx) }}
		if err := f(dr); err != nil {
			return err
		}
		if !dr.done { // f stopped early: drain, so the session stays in step
			if _, err := io.Copy(io.Discard, dr); err != nil {
				return err
			}
		}
		return nil
	})
}

// quit ends the session (RFC 1939 §6) and closes the connection.
func (c *pop3Conn) quit(ctx context.Context) error {
	_, err := c.simple(ctx, "QUIT", "QUIT")
	c.conn.Close()
	return err
}

// close closes the connection without QUIT.
func (c *pop3Conn) close() error { return c.conn.Close() }

// dotReader reads a multi-line answer up to the terminating ".": it removes
// the stuffed dot at the start of lines (RFC 1939 §3) and keeps every other
// byte, line ends included, so that signatures over the message still hold.
type dotReader struct {
	r      *bufio.Reader
	bol    bool // at the beginning of a line
	done   bool
	onData func()
	buf    []byte // the rest of the current chunk
}

func (d *dotReader) Read(p []byte) (int, error) {
	for len(d.buf) == 0 {
		if d.done {
			return 0, io.EOF
		}
		chunk, err := d.r.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, fmt.Errorf("pop3: message cut short: %w", err)
		}
		if d.onData != nil {
			d.onData()
		}
		if d.bol && len(chunk) > 0 && chunk[0] == '.' {
			if bytes.Equal(chunk, []byte(".\r\n")) || bytes.Equal(chunk, []byte(".\n")) {
				d.done = true
				return 0, io.EOF
			}
			chunk = chunk[1:]
		}
		d.bol = err == nil // ReadSlice returned a whole line
		d.buf = chunk
	}
	n := copy(p, d.buf)
	d.buf = d.buf[n:]
	return n, nil
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
