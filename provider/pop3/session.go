package pop3

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"

	"github.com/pecsdk/pec/provider/mailbox"
)

// session is one connection, from greeting to QUIT.
type session struct {
	s    *Server
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	tls  bool
	log  []any // attributes for every log line

	user     string // given by USER, until PASS
	failures int    // failed logins on this connection

	// TRANSACTION state
	box     mailbox.Mailbox
	msgs    []mailbox.Message
	deleted []bool
	valid   uint32 // UIDVALIDITY at login
}

// errQuit ends the command loop.
var errQuit = errors.New("quit")

func newSession(s *Server, c net.Conn) *session {
	ss := &session{s: s, conn: c, log: []any{"remote", c.RemoteAddr().String()}}
	_, ss.tls = c.(*tls.Conn)
	ss.setConn(c)
	return ss
}

func (ss *session) setConn(c net.Conn) {
	ss.conn = c
	ss.r = bufio.NewReaderSize(c, ss.s.opts.MaxLineLength)
	ss.w = bufio.NewWriterSize(c, 32<<10)
}

func (ss *session) serve() {
	defer ss.conn.Close()
	lg := ss.s.opts.Logger
	lg.Debug("pop3: session start", ss.log...)
	if tc, ok := ss.conn.(*tls.Conn); ok {
		tc.SetDeadline(time.Now().Add(ss.s.opts.WriteTimeout))
		if err := tc.HandshakeContext(ss.s.ctx); err != nil {
			lg.Debug("pop3: TLS handshake", append(ss.log, "err", err)...)
			return
		}
	}
	if ss.reply(true, "POP3 server ready") != nil {
		return
	}
	for {
		line, err := ss.readLine()
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				lg.Warn("pop3: line too long", ss.log...)
				ss.reply(false, "line too long")
			} else if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				lg.Debug("pop3: read", append(ss.log, "err", err)...)
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					ss.reply(false, "autologout: idle for too long")
				}
			}
			break
		}
		cmd, err := parseCommand(line)
		if err != nil {
			if ss.reply(false, err.Error()) != nil {
				break
			}
			continue
		}
		err = ss.handle(cmd)
		if errors.Is(err, errQuit) {
			break
		}
		if err != nil {
			lg.Debug("pop3: write", append(ss.log, "err", err)...)
			break
		}
	}
	lg.Debug("pop3: session end", ss.log...)
}

// readLine reads one command line, bounded by MaxLineLength.
func (ss *session) readLine() (string, error) {
	ss.conn.SetReadDeadline(time.Now().Add(ss.s.opts.ReadTimeout))
	b, err := ss.r.ReadSlice('\n')
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// reply writes a status line: +OK or -ERR, then text.
func (ss *session) reply(ok bool, text string) error {
	ss.conn.SetWriteDeadline(time.Now().Add(ss.s.opts.WriteTimeout))
	if ok {
		ss.w.WriteString("+OK")
	} else {
		ss.w.WriteString("-ERR")
	}
	if text != "" {
		ss.w.WriteString(" " + text)
	}
	ss.w.WriteString("\r\n")
	return ss.w.Flush()
}

func (ss *session) handle(cmd command) error {
	if ss.box == nil {
		return ss.authorization(cmd)
	}
	return ss.transaction(cmd)
}

// capabilities returns the CAPA lines for the session's state.
func (ss *session) capabilities() []string {
	caps := []string{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"}
	if ss.box == nil {
		if ss.tls || ss.s.opts.InsecureAuth {
			caps = append(caps, "USER", "SASL PLAIN")
		}
		if !ss.tls && ss.s.opts.TLSConfig != nil {
			caps = append(caps, "STLS")
		}
	}
	return append(caps, "IMPLEMENTATION pec")
}

func (ss *session) authorization(cmd command) error {
	switch cmd.name {
	case "CAPA":
		return ss.multiline("Capability list follows", ss.capabilities())
	case "QUIT":
		ss.reply(true, "bye")
		return errQuit
	case "STLS":
		return ss.startTLS()
	case "USER":
		if len(cmd.args) != 1 {
			return ss.reply(false, "USER takes one argument")
		}
		if !ss.tls && !ss.s.opts.InsecureAuth {
			return ss.reply(false, "[AUTH] TLS required: use STLS first")
		}
		ss.user = cmd.args[0]
		return ss.reply(true, "send PASS")
	case "PASS":
		if ss.user == "" {
			return ss.reply(false, "USER first")
		}
		if len(cmd.args) != 1 {
			return ss.reply(false, "PASS takes one argument")
		}
		user := ss.user
		ss.user = ""
		return ss.login(user, cmd.args[0])
	case "AUTH":
		return ss.authenticate(cmd)
	}
	return ss.reply(false, "unknown command in AUTHORIZATION state: "+cmd.name)
}

func (ss *session) startTLS() error {
	if ss.tls || ss.s.opts.TLSConfig == nil {
		return ss.reply(false, "STLS not available")
	}
	if err := ss.reply(true, "begin TLS negotiation"); err != nil {
		return err
	}
	// Whatever the client sent after STLS was sent in the clear: drop it
	// (RFC 2595 §4 and the STARTTLS command injection attacks).
	ss.r.Discard(ss.r.Buffered())
	tc := tls.Server(ss.conn, ss.s.opts.TLSConfig)
	tc.SetDeadline(time.Now().Add(ss.s.opts.WriteTimeout))
	if err := tc.HandshakeContext(ss.s.ctx); err != nil {
		return fmt.Errorf("STLS handshake: %w", err)
	}
	ss.tls = true
	ss.user = "" // nothing said in the clear carries over (RFC 2595 §4)
	ss.setConn(tc)
	return nil
}

func (ss *session) authenticate(cmd command) error {
	if len(cmd.args) == 0 {
		return ss.reply(false, "mechanism required: PLAIN")
	}
	if !ss.tls && !ss.s.opts.InsecureAuth {
		return ss.reply(false, "[AUTH] TLS required: use STLS first")
	}
	if !strings.EqualFold(cmd.args[0], sasl.Plain) {
		return ss.reply(false, "unsupported mechanism")
	}
	var resp string
	if len(cmd.args) == 2 {
		resp = cmd.args[1]
		if resp == "=" { // an empty initial response (RFC 5034 §4)
			resp = ""
		}
	} else {
		ss.conn.SetWriteDeadline(time.Now().Add(ss.s.opts.WriteTimeout))
		ss.w.WriteString("+ \r\n")
		if err := ss.w.Flush(); err != nil {
			return err
		}
		line, err := ss.readLine()
		if err != nil {
			return err
		}
		resp = strings.TrimRight(line, "\r\n")
		if resp == "*" {
			return ss.reply(false, "authentication canceled")
		}
	}
	data, err := decodeBase64(resp)
	if err != nil {
		return ss.reply(false, "invalid base64")
	}
	var user, pass string
	srv := sasl.NewPlainServer(func(identity, username, password string) error {
		if identity != "" && identity != username {
			return errors.New("identity differs from user")
		}
		user, pass = username, password
		return nil
	})
	if _, _, err := srv.Next(data); err != nil {
		return ss.reply(false, "invalid PLAIN response")
	}
	return ss.login(user, pass)
}

// login checks the password after the wait the throttle calls for, the
// same whatever the password, then opens the INBOX.
func (ss *session) login(user, pass string) error {
	ctx, peer := ss.s.ctx, ss.conn.RemoteAddr().String()
	delay, err := ss.s.opts.Throttle.Wait(ctx, user, peer)
	if errors.Is(err, mailbox.ErrThrottled) {
		ss.s.opts.Logger.Warn("pop3: login refused: too many attempts", append(ss.log, "user", user)...)
		return ss.reply(false, "[SYS/TEMP] too many login attempts, try again later")
	}
	if err == nil {
		err = ss.s.auth.Authenticate(ctx, user, pass)
	}
	if err != nil {
		if !errors.Is(err, mailbox.ErrAuth) {
			ss.s.opts.Logger.Error("pop3: authenticator", append(ss.log, "user", user, "err", err)...)
			return ss.reply(false, "[SYS/TEMP] cannot check the password now")
		}
		ss.failures++
		n := ss.s.opts.Throttle.Fail(user, peer)
		ss.s.opts.Logger.Warn("pop3: login failed", append(ss.log, "user", user, "failures", n, "connection_failures", ss.failures, "delay", delay)...)
		if ss.failures >= ss.s.opts.MaxAuthFailures {
			ss.reply(false, "[AUTH] too many failures")
			return errQuit
		}
		return ss.reply(false, "[AUTH] invalid user name or password")
	}
	ss.s.opts.Throttle.Succeed(user)
	box, err := ss.s.store.Mailbox(ctx, user)
	if err == nil {
		var d *mailbox.FolderData
		if d, err = box.List(ctx, mailbox.Inbox); err == nil {
			ss.box, ss.msgs, ss.valid = box, d.Messages, d.UIDValidity
			ss.deleted = make([]bool, len(d.Messages))
		}
	}
	if err != nil {
		ss.s.opts.Logger.Error("pop3: open maildrop", append(ss.log, "user", user, "err", err)...)
		return ss.reply(false, "[SYS/TEMP] maildrop unavailable")
	}
	ss.log = append(ss.log, "user", user)
	ss.s.opts.Logger.Info("pop3: login", ss.log...)
	return ss.reply(true, "maildrop has "+strconv.Itoa(len(ss.msgs))+" messages")
}

// multiline writes +OK text, then lines, then the terminating dot.
func (ss *session) multiline(text string, lines []string) error {
	ss.conn.SetWriteDeadline(time.Now().Add(ss.s.opts.WriteTimeout))
	ss.w.WriteString("+OK " + text + "\r\n")
	for _, l := range lines {
		if strings.HasPrefix(l, ".") {
			ss.w.WriteByte('.')
		}
		ss.w.WriteString(l + "\r\n")
	}
	ss.w.WriteString(".\r\n")
	return ss.w.Flush()
}
