package client

// Fetching over IMAP (RFC 9051, RFC 3501) with go-imap v2: by UID, only the
// messages after the last one fetched, aware of UIDVALIDITY (RFC 9051
// §2.3.1.1), with IDLE (RFC 2177) when the server offers it. Mailboxes are
// opened read-only (EXAMINE): fetching changes nothing on the server.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// imapBatch is how many messages one UID FETCH asks for.
const imapBatch = 64

// imapSession is a logged-in IMAP connection.
type imapSession struct {
	f      *fetcher
	c      *imapclient.Client
	conn   *timeoutConn
	exists chan struct{} // new messages announced (EXISTS)
	unbind func() bool
	ctx    context.Context
}

// dialIMAP connects and logs in. The session is bound to ctx: when ctx
// ends, the connection is closed and every command fails.
func (f *fetcher) dialIMAP(ctx context.Context) (*imapSession, error) {
	addr := f.opts.Server.Addr()
	raw, err := dialTLS(ctx, addr, f.opts.Server.Security, f.opts.TLSConfig, f.opts.Timeout)
	if err != nil {
		return nil, fmt.Errorf("client: imap: %s: %w", addr, err)
	}
	s := &imapSession{f: f, conn: &timeoutConn{Conn: raw, timeout: f.opts.Timeout}, exists: make(chan struct{}, 1), ctx: ctx}
	opts := &imapclient.Options{
		TLSConfig:   f.opts.TLSConfig,
		DebugWriter: f.opts.DebugWriter,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case s.exists <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	if f.opts.Server.Security == SecurityStartTLS {
		s.c, err = imapclient.NewStartTLS(s.conn, opts)
		if err != nil {
			raw.Close()
			return nil, fmt.Errorf("client: imap: %s: STARTTLS: %w", addr, err)
		}
	} else {
		s.c = imapclient.New(s.conn, opts)
	}
	s.unbind = context.AfterFunc(ctx, func() { s.c.Close() })
	if err := s.c.WaitGreeting(); err != nil {
		s.close()
		return nil, s.wrap("greeting", err)
	}
	if err := s.login(); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// login authenticates with AUTHENTICATE PLAIN when offered (or asked for),
// else LOGIN. A refusal is ErrAuth.
func (s *imapSession) login() error {
	o := &s.f.opts
	var err error
	plain := s.c.Caps().Has(imap.AuthCap(sasl.Plain))
	switch {
	case o.Auth == AuthPlain || (o.Auth == "" && plain):
		err = s.c.Authenticate(sasl.NewPlainClient("", o.Username, o.Password))
	case o.Auth == "" || o.Auth == AuthPassword:
		err = s.c.Login(o.Username, o.Password).Wait()
	default:
		return fmt.Errorf("client: imap: authentication method %q not supported", o.Auth)
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return fmt.Errorf("%w: %s as %s: %v", ErrAuth, o.Server.Addr(), o.Username, err)
	}
	return s.wrap("login", err)
}

// wrap names the step of a failure, and the context when it ended the
// session.
func (s *imapSession) wrap(step string, err error) error {
	if err == nil {
		return nil
	}
	if s.ctx.Err() != nil {
		return fmt.Errorf("client: imap: %s: %w", step, s.ctx.Err())
	}
	return fmt.Errorf("client: imap: %s: %s: %w", s.f.opts.Server.Addr(), step, err)
}

func (s *imapSession) close() {
	s.unbind()
	s.c.Close()
}

// logout ends the session politely.
func (s *imapSession) logout() {
	if s.ctx.Err() == nil {
		_ = s.c.Logout().Wait()
	}
	s.close()
}

// pass fetches the messages after the last UID fetched.
func (s *imapSession) pass(ctx context.Context) (res *FetchResult, err error) {
	res = &FetchResult{}
	f := s.f
	sel, err := s.c.Select(f.opts.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return res, s.wrap("select "+f.opts.Mailbox, err)
	}
	acct := f.store.state.account(f.account())
	if acct.UIDValidity != sel.UIDValidity {
		if acct.UIDValidity != 0 {
			// RFC 9051 §2.3.1.1: the old UIDs mean nothing now. Fetch
			// everything again; the folder keeps one copy of each.
			f.log.Warn("imap: UIDVALIDITY changed: fetching the mailbox again", "mailbox", f.opts.Mailbox, "old", acct.UIDValidity, "new", sel.UIDValidity)
		}
		acct.UIDValidity, acct.LastUID = sel.UIDValidity, 0
		if err := f.store.record(fetchRecord{Account: f.account(), UIDValidity: sel.UIDValidity}); err != nil {
			return res, err
		}
	}
	if sel.NumMessages == 0 || (sel.UIDNext != 0 && uint32(sel.UIDNext) <= acct.LastUID+1) {
		return res, nil
	}
	sd, err := s.c.UIDSearch(&imap.SearchCriteria{
		UID: []imap.UIDSet{{imap.UIDRange{Start: imap.UID(acct.LastUID + 1), Stop: 0}}},
	}, nil).Wait()
	if err != nil {
		return res, s.wrap("search", err)
	}
	var todo []imap.UID
	for _, u := range sd.AllUIDs() {
		if uint32(u) > acct.LastUID { // "n:*" always matches the last message
			todo = append(todo, u)
		}
	}
	slices.Sort(todo)
	f.log.Info("imap: messages", "mailbox", f.opts.Mailbox, "total", sel.NumMessages, "new", len(todo))
	defer func() {
		if serr := f.store.saveState(); serr != nil && err == nil {
			err = serr
		}
	}()
	done := map[imap.UID]bool{}
	next := 0 // todo[:next] are all done: LastUID may move past them
	for start := 0; start < len(todo); start += imapBatch {
		batch := todo[start:min(start+imapBatch, len(todo))]
		cmd := s.c.Fetch(imap.UIDSetNum(batch...), &imap.FetchOptions{
			UID:         true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}},
		})
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			fm, uid, err := s.message(msg, acct.UIDValidity)
			if err != nil {
				cmd.Close()
				return res, err
			}
			if fm == nil {
				continue
			}
			res.add(fm)
			done[uid] = true
			if err := s.advance(acct, todo, done, &next); err != nil {
				cmd.Close()
				return res, err
			}
			f.progress(res, len(todo))
		}
		if err := cmd.Close(); err != nil {
			return res, s.wrap("fetch", err)
		}
		// UIDs of the batch with no answer were expunged meanwhile.
		for _, u := range batch {
			done[u] = true
		}
		if err := s.advance(acct, todo, done, &next); err != nil {
			return res, err
		}
	}
	return res, nil
}

// advance moves LastUID past the UIDs of todo that are all done, and
// journals it.
func (s *imapSession) advance(acct *accountState, todo []imap.UID, done map[imap.UID]bool, next *int) error {
	last := acct.LastUID
	for *next < len(todo) && done[todo[*next]] {
		acct.LastUID = uint32(todo[*next])
		*next++
	}
	if acct.LastUID == last {
		return nil
	}
	return s.f.store.record(fetchRecord{Account: s.f.account(), UIDValidity: acct.UIDValidity, UID: acct.LastUID})
}

// message stores, classifies and tracks one FETCH response. It returns nil
// for a response without a body (a flag change announced in passing).
func (s *imapSession) message(msg *imapclient.FetchMessageData, validity uint32) (*Fetched, imap.UID, error) {
	var uid imap.UID
	var fm *Fetched
	for item := msg.Next(); item != nil; item = msg.Next() {
		switch it := item.(type) {
		case imapclient.FetchItemDataUID:
			uid = it.UID
		case imapclient.FetchItemDataBodySection:
			if it.Literal == nil {
				continue
			}
			var err error
			fm, err = s.f.put(it.Literal, "")
			if err != nil {
				return nil, 0, s.wrap(fmt.Sprintf("message %d", msg.SeqNum), err)
			}
		}
	}
	if fm == nil {
		return nil, 0, nil
	}
	if uid == 0 {
		return nil, 0, s.wrap(fmt.Sprintf("message %d", msg.SeqNum), errors.New("no UID in the FETCH response"))
	}
	fm.UID = strconv.FormatUint(uint64(validity), 10) + "/" + strconv.FormatUint(uint64(uid), 10)
	if err := s.f.finish(fm); err != nil {
		return nil, 0, err
	}
	return fm, uid, nil
}

// wait returns when the server announces new mail (IDLE), when poll has
// passed, or when ctx ends.
func (s *imapSession) wait(ctx context.Context, poll time.Duration) error {
	s.conn.hold(true) // no inactivity limit while waiting
	defer s.conn.hold(false)
	t := time.NewTimer(poll)
	defer t.Stop()
	if !s.c.Caps().Has(imap.CapIdle) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.c.Closed():
			return s.wrap("poll", errors.New("connection closed"))
		case <-t.C:
			return s.wrap("noop", s.c.Noop().Wait())
		}
	}
	idle, err := s.c.Idle()
	if err != nil {
		return s.wrap("idle", err)
	}
	select {
	case <-ctx.Done():
	case <-s.exists:
	case <-t.C:
	case <-s.c.Closed():
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s.conn.hold(false)
	if err := idle.Close(); err != nil {
		return s.wrap("idle", err)
	}
	return s.wrap("idle", idle.Wait())
}

// timeoutConn bounds every read and write of a connection by an inactivity
// limit, which hold suspends while the session waits on purpose.
type timeoutConn struct {
	net.Conn
	timeout time.Duration
	held    atomic.Bool
}

func (c *timeoutConn) Read(p []byte) (int, error) {
	if !c.held.Load() {
		_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	}
	return c.Conn.Read(p)
}

func (c *timeoutConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
	return c.Conn.Write(p)
}

// hold suspends (on) or restores the read limit, including for a read
// already waiting.
func (c *timeoutConn) hold(on bool) {
	c.held.Store(on)
	if on {
		_ = c.Conn.SetReadDeadline(time.Time{})
	} else {
		_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	}
}
