package imap

import (
	"bytes"
	"net"
	"sync"
	"time"
)

// wire is the connection imapserver reads and writes on IMAPS: the TLS
// connection, with the commands imapserver lacks (quota.go) answered in
// front of it.
//
// It hands imapserver the client's bytes one command line at a time,
// never more, and follows imapserver's responses to find the tagged one
// that ends each command. Where a command starts and imapserver has
// answered every earlier one, it is waiting for the next: only then, and
// only once logged in, a whole command of ours is taken off the stream
// and answered here, on imapserver's own goroutine, inside its Read, so
// that nothing of imapserver is being written meanwhile. Anything else
// goes to imapserver as it is: while a command is not answered (IDLE
// awaiting DONE, AUTHENTICATE awaiting a response, a line imapserver
// could not read and reads on past its end), no line is taken.
//
// To find where command lines end, literals are followed (RFC 3501
// §4.3): "{n+}" of at most 4096 bytes is followed by its n bytes, as
// imapserver accepts it (past that it refuses it and reads them as
// commands); "{n}" is followed by them only if imapserver answered with a
// continuation request. imapserver's responses are followed line by
// line, the literals of FETCH skipped by their size.
//
// On the write side, the capabilities imapserver lists in answer to
// LOGIN, AUTHENTICATE and CAPABILITY are completed with QUOTA's, and the
// responses to a FETCH, which imapserver flushes message by message, are
// gathered into writes of up to batchMax, the last with the tagged
// response, and before any wait for the client; every other write goes
// through as it is.
type wire struct {
	net.Conn // the TLS connection
	s        *Server
	ss       *session // set by newSession

	// read side, used by imapserver's goroutine only
	in      []byte // read from the client, not yet given nor taken
	pass    int64  // bytes of in (and beyond) to give imapserver as they are
	state   readState
	lit     int64 // the literal's size in stAwaitCont
	tail    []byte
	rbuf    []byte
	readErr error

	wmu     sync.Mutex // one writer at a time: imapserver's, IDLE's, ours
	open    string     // the tag of the last command given to imapserver
	done    bool       // imapserver has written open's tagged response
	cont    bool       // imapserver asked for a literal since the last "{n}"
	capsTag string     // rewrite capabilities until this tag's response
	pending []byte     // an incomplete line held while rewriting
	head    []byte     // the start of the response line being written
	otail   []byte     // its last bytes, where a literal is announced
	olit    int64      // bytes of a literal being written
	batch   bool       // open is a FETCH: its responses are gathered in out
	out     []byte     // responses not yet written, at most batchMax
	wdl     time.Time  // the write deadline imapserver last set
	wdlSet  bool       // ... not yet applied to the connection
}

// batchMax bounds the responses to a FETCH gathered before one write:
// imapserver flushes at the end of every message's response, a write
// and a TLS record each, where a few large ones carry the same.
const batchMax = 64 << 10

type readState uint8

const (
	stBoundary  readState = iota // at the start of a command
	stLine                       // inside a line of a command
	stLiteral                    // inside a literal: pass bytes
	stAwaitCont                  // after "{n}": has imapserver asked?
)

func newWire(c net.Conn, s *Server) *wire {
	return &wire{Conn: c, s: s, rbuf: make([]byte, 4096), done: true}
}

// fill reads more from the client into w.in.
func (w *wire) fill() error {
	if w.readErr != nil {
		return w.readErr
	}
	if err := w.flush(); err != nil {
		return err
	}
	n, err := w.Conn.Read(w.rbuf)
	w.in = append(w.in, w.rbuf[:n]...)
	if err != nil {
		w.readErr = err
		if n > 0 {
			return nil
		}
	}
	return err
}

// Read gives imapserver the client's bytes, at most to the end of the
// current command line or literal.
func (w *wire) Read(p []byte) (int, error) {
	for {
		if w.pass > 0 {
			if len(w.in) == 0 {
				if w.state == stLiteral {
					// Large literals (APPEND) go straight through.
					if err := w.flush(); err != nil {
						return 0, err
					}
					n := int64(len(p))
					if n > w.pass {
						n = w.pass
					}
					k, err := w.Conn.Read(p[:n])
					w.pass -= int64(k)
					if w.pass == 0 {
						w.state = stLine
					}
					return k, err
				}
				if err := w.fill(); err != nil {
					return 0, err
				}
			}
			n := copy(p, w.in[:min(int64(len(w.in)), w.pass)])
			w.in = w.in[n:]
			w.pass -= int64(n)
			if w.pass == 0 && w.state == stLiteral {
				w.state = stLine
			}
			if len(w.in) == 0 {
				w.in = w.in[:0:0]
			}
			return n, nil
		}
		switch w.state {
		case stLiteral:
			w.state = stLine // a zero-length literal
		case stAwaitCont:
			w.wmu.Lock()
			asked := w.cont && !w.done
			w.wmu.Unlock()
			if asked {
				w.state, w.pass = stLiteral, w.lit
			} else {
				w.state = stBoundary
			}
		case stLine:
			if err := w.line(); err != nil {
				return 0, err
			}
		case stBoundary:
			if err := w.boundary(); err != nil {
				return 0, err
			}
		}
	}
}

// line sets the bytes to pass up to the end of the current line, or all
// that is buffered when the line goes on, and what comes after it.
func (w *wire) line() error {
	i := bytes.IndexByte(w.in, '\n')
	if i < 0 {
		if len(w.in) == 0 {
			return w.fill()
		}
		w.keepTail(w.in)
		w.pass = int64(len(w.in))
		return nil
	}
	w.keepTail(w.in[:i+1])
	w.pass = int64(i + 1)
	w.afterLine(w.tail)
	w.tail = w.tail[:0]
	return nil
}

// keepTail keeps the last bytes of the line, where a literal is announced.
func (w *wire) keepTail(b []byte) {
	const keep = 32
	w.tail = append(w.tail, b[max(0, len(b)-keep):]...)
	if len(w.tail) > keep {
		w.tail = append(w.tail[:0], w.tail[len(w.tail)-keep:]...)
	}
}

// afterLine sets the state that follows a line of a command passed to
// imapserver.
func (w *wire) afterLine(end []byte) {
	n, nonSync, ok := literalAt(end)
	switch {
	case !ok:
		w.state = stBoundary
	case nonSync && n <= maxSyncLiteral:
		// Its bytes follow at once, then the rest of the command.
		w.pass += n
		w.state = stLine
	case nonSync:
		w.state = stBoundary // refused by imapserver: what follows is read as commands
	default:
		w.wmu.Lock()
		w.cont = false
		w.wmu.Unlock()
		w.state, w.lit = stAwaitCont, n
	}
}

// boundary looks at the command that starts here: one of ours is
// answered when imapserver has answered every command before it, any
// other goes to imapserver.
func (w *wire) boundary() error {
	w.wmu.Lock()
	done := w.done
	w.wmu.Unlock()
	if !done {
		// imapserver reads on in the middle of a command: the DONE of
		// IDLE, a response of AUTHENTICATE, or what it takes for the rest
		// of a line it could not read.
		w.state = stLine
		return w.line()
	}
	i := bytes.IndexByte(w.in, '\n')
	for i < 0 && len(w.in) < maxOwnLine {
		if err := w.fill(); err != nil {
			if len(w.in) > 0 {
				break // imapserver sees what there is, then the error
			}
			return err
		}
		i = bytes.IndexByte(w.in, '\n')
	}
	line := w.in
	if i >= 0 {
		line = w.in[:i+1]
	}
	tag, name, ok := commandName(line)
	if ok && i >= 0 && w.ss != nil && w.ss.box != nil && isOwn(name) {
		return w.own(i + 1)
	}
	w.wmu.Lock()
	// A line that does not start as a command ends the session at
	// imapserver; should it not, nothing more is taken.
	w.open, w.done = tag, false
	if ok && (name == "LOGIN" || name == "AUTHENTICATE" || name == "CAPABILITY") {
		w.capsTag = tag
	}
	w.batch = ok && (name == "FETCH" || name == "UID") && fetchCommand(line, tag, name)
	w.wmu.Unlock()
	w.state = stLine
	return w.line()
}

// own reads the rest of a command of ours whose first line ends at
// w.in[lineEnd-1], answering continuation requests for its literals,
// and answers it.
func (w *wire) own(lineEnd int) error {
	const maxOwn = maxOwnLine + 4*maxOwnLiteral
	cmd := append([]byte(nil), w.in[:lineEnd]...)
	w.in = w.in[lineEnd:]
	last := cmd
	for {
		n, nonSync, ok := literalAt(last)
		if !ok {
			break
		}
		if n > maxOwnLiteral || len(cmd) > maxOwn {
			w.writeOwn([]byte("* BYE command too long\r\n"))
			w.Conn.Close()
			return errTooLong
		}
		if !nonSync {
			if err := w.writeOwn([]byte("+ Ready for literal data\r\n")); err != nil {
				return err
			}
		}
		for int64(len(w.in)) < n {
			if err := w.fill(); err != nil {
				return err
			}
		}
		start := len(cmd)
		cmd = append(cmd, w.in[:n]...)
		w.in = w.in[n:]
		i := bytes.IndexByte(w.in, '\n')
		for i < 0 {
			if len(w.in) > maxOwnLine {
				w.writeOwn([]byte("* BYE command too long\r\n"))
				w.Conn.Close()
				return errTooLong
			}
			if err := w.fill(); err != nil {
				return err
			}
			i = bytes.IndexByte(w.in, '\n')
		}
		cmd = append(cmd, w.in[:i+1]...)
		w.in = w.in[i+1:]
		last = cmd[start+int(n):]
	}
	if dw := w.s.opts.DebugWriter; dw != nil {
		dw.Write(cmd)
	}
	c, err := parseOwn(cmd)
	w.state = stBoundary
	return w.writeOwn(w.ss.answer(c, err))
}

// SetWriteDeadline notes the deadline imapserver sets around every
// response, twice per message of a FETCH: it is applied to the
// connection just before the next write.
func (w *wire) SetWriteDeadline(t time.Time) error {
	w.wmu.Lock()
	w.wdl, w.wdlSet = t, true
	w.wmu.Unlock()
	return nil
}

// SetDeadline sets the read deadline, and the write deadline as
// SetWriteDeadline does.
func (w *wire) SetDeadline(t time.Time) error {
	w.SetWriteDeadline(t)
	return w.Conn.SetReadDeadline(t)
}

// applyDeadline applies the write deadline imapserver set last. Call
// with w.wmu held.
func (w *wire) applyDeadline() {
	if w.wdlSet {
		w.Conn.SetWriteDeadline(w.wdl)
		w.wdlSet = false
	}
}

// flush writes the responses gathered.
func (w *wire) flush() error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return w.flushLocked()
}

func (w *wire) flushLocked() error {
	if len(w.out) == 0 {
		return nil
	}
	w.applyDeadline()
	_, err := w.Conn.Write(w.out)
	w.out = w.out[:0]
	if !w.batch {
		w.out = nil // not kept by an idle session
	}
	return err
}

// writeOwn writes responses of ours, within Options.WriteTimeout.
func (w *wire) writeOwn(b []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if err := w.flushLocked(); err != nil {
		return err
	}
	w.Conn.SetWriteDeadline(time.Now().Add(w.s.opts.WriteTimeout))
	w.wdlSet = true // imapserver's own applies to its next write
	if dw := w.s.opts.DebugWriter; dw != nil {
		dw.Write(b)
	}
	_, err := w.Conn.Write(b)
	return err
}

// Write writes imapserver's responses, completing the capabilities it
// lists, and notes where its responses end.
func (w *wire) Write(p []byte) (int, error) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if w.capsTag == "" && len(w.pending) == 0 {
		w.scan(p)
		if w.batch && len(p) < batchMax {
			w.out = append(w.out, p...)
			if len(w.out) >= batchMax {
				if err := w.flushLocked(); err != nil {
					return 0, err
				}
			}
			return len(p), nil
		}
		if err := w.flushLocked(); err != nil {
			return 0, err
		}
		w.applyDeadline()
		return w.Conn.Write(p)
	}
	data := append(w.pending, p...)
	w.pending = nil
	var out []byte
	for len(data) > 0 && w.capsTag != "" {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			w.pending = data // held to its end, which imapserver always writes
			data = nil
			break
		}
		w.scan(data[:i+1])
		out = w.rewrite(out, data[:i+1])
		data = data[i+1:]
	}
	w.scan(data)
	out = append(out, data...)
	if err := w.flushLocked(); err != nil {
		return 0, err
	}
	if len(out) > 0 {
		w.applyDeadline()
		if _, err := w.Conn.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// scan follows imapserver's responses line by line, their literals
// skipped, and notes a continuation request and open's tagged response.
func (w *wire) scan(p []byte) {
	const headMax, tailMax = 64, 24
	for len(p) > 0 {
		if w.olit > 0 {
			k := min(w.olit, int64(len(p)))
			w.olit -= k
			p = p[k:]
			continue
		}
		i := bytes.IndexByte(p, '\n')
		seg := p
		if i >= 0 {
			seg = p[:i+1]
		}
		if len(w.head) < headMax {
			w.head = append(w.head, seg[:min(len(seg), headMax-len(w.head))]...)
		}
		w.otail = append(w.otail, seg[max(0, len(seg)-tailMax):]...)
		if len(w.otail) > tailMax {
			w.otail = append(w.otail[:0], w.otail[len(w.otail)-tailMax:]...)
		}
		if i < 0 {
			return
		}
		p = p[i+1:]
		switch {
		case w.head[0] == '+':
			w.cont = true
		case w.open != "" && len(w.head) > len(w.open) && string(w.head[:len(w.open)]) == w.open && w.head[len(w.open)] == ' ':
			w.done = true
			w.batch = false // written with this line
		}
		if n, _, ok := literalAt(w.otail); ok {
			w.olit = n
		}
		w.head, w.otail = w.head[:0], w.otail[:0]
	}
}

// rewrite appends line to out, with QUOTA's capabilities added to a
// capability list once logged in.
func (w *wire) rewrite(out, line []byte) []byte {
	if w.capsTag == "" {
		return append(out, line...)
	}
	switch {
	case bytes.HasPrefix(line, []byte("* CAPABILITY ")) && w.ss.metered():
		end := len(bytes.TrimRight(line, "\r\n"))
		out = append(out, line[:end]...)
		out = append(out, quotaCaps...)
		return append(out, line[end:]...)
	case bytes.HasPrefix(line, []byte(w.capsTag+" ")):
		rest := line[len(w.capsTag):]
		w.capsTag = ""
		if i := bytes.IndexByte(line, ']'); i > 0 && bytes.HasPrefix(rest, []byte(" OK [CAPABILITY ")) && w.ss.metered() {
			out = append(out, line[:i]...)
			out = append(out, quotaCaps...)
			return append(out, line[i:]...)
		}
	}
	return append(out, line...)
}
