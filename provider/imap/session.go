package imap

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sort"
	"strings"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-sasl"

	"github.com/pecsdk/pec/provider/mailbox"
)

// delim is the hierarchy separator Dovecot announces for Maildir++.
const delim = '.'

// session is one connection's state: imapserver.Session over a Mailbox.
type session struct {
	s        *Server
	conn     net.Conn // the connection as accepted, closed on too many failures
	log      []any
	failures int
	user     string
	box      mailbox.Mailbox // nil until logged in
	sel      *view           // nil unless a folder is selected
	closed   bool

	copyBuf   []byte        // FETCH's copies of whole messages
	headerBuf *bufio.Reader // FETCH's reads of headers
}

var (
	_ imapserver.Session            = (*session)(nil)
	_ imapserver.SessionSASL        = (*session)(nil)
	_ imapserver.SessionAppendLimit = (*session)(nil)
)

// AppendLimit is Options.MaxAppendSize, announced as APPENDLIMIT (RFC 7889).
func (ss *session) AppendLimit() uint32 { return uint32(ss.s.opts.MaxAppendSize) }

func (s *Server) newSession(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	nc := c.NetConn()
	if s.active.Add(1) > int64(s.opts.MaxConnections) {
		s.active.Add(-1)
		s.opts.Logger.Warn("imap: too many connections", "remote", nc.RemoteAddr().String())
		return nil, nil, &goimap.Error{Type: goimap.StatusResponseTypeBye, Code: goimap.ResponseCodeUnavailable, Text: "too many connections, try again later"}
	}
	s.sessions.Add(1)
	ss := &session{s: s, conn: nc, log: []any{"remote", nc.RemoteAddr().String()}}
	if w, ok := nc.(*wire); ok {
		w.ss = ss // answers QUOTA's commands for this session
	}
	s.opts.Logger.Debug("imap: session start", ss.log...)
	return ss, nil, nil
}

func (ss *session) ctx() context.Context { return ss.s.ctx }

func (ss *session) Close() error {
	if !ss.closed {
		ss.closed = true
		ss.s.opts.Logger.Debug("imap: session end", ss.log...)
		ss.s.active.Add(-1)
		ss.s.sessions.Done()
	}
	return nil
}

var (
	errNoAuth = &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeAuthenticationFailed, Text: "invalid user name or password"}
	errTemp   = &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeUnavailable, Text: "temporary failure, try again later"}
)

// Login checks the password after the wait the throttle calls for, the
// same whatever the password, and ends the connection after
// Options.MaxAuthFailures failures.
func (ss *session) Login(user, password string) error {
	ctx, peer := ss.ctx(), ss.conn.RemoteAddr().String()
	delay, err := ss.s.opts.Throttle.Wait(ctx, user, peer)
	if errors.Is(err, mailbox.ErrThrottled) {
		ss.s.opts.Logger.Warn("imap: login refused: too many attempts", append(ss.log, "user", user)...)
		return errTemp
	}
	if err == nil {
		err = ss.s.auth.Authenticate(ctx, user, password)
	}
	if err != nil {
		if !errors.Is(err, mailbox.ErrAuth) {
			ss.s.opts.Logger.Error("imap: authenticator", append(ss.log, "user", user, "err", err)...)
			return errTemp
		}
		ss.failures++
		n := ss.s.opts.Throttle.Fail(user, peer)
		ss.s.opts.Logger.Warn("imap: login failed", append(ss.log, "user", user, "failures", n, "connection_failures", ss.failures, "delay", delay)...)
		if ss.failures >= ss.s.opts.MaxAuthFailures {
			ss.s.opts.Logger.Warn("imap: too many failed logins, closing", append(ss.log, "user", user)...)
			ss.conn.Close()
		}
		return errNoAuth
	}
	ss.s.opts.Throttle.Succeed(user)
	box, err := ss.s.store.Mailbox(ctx, user)
	if err != nil {
		ss.s.opts.Logger.Error("imap: open mailbox", append(ss.log, "user", user, "err", err)...)
		return errTemp
	}
	ss.user, ss.box = user, box
	ss.log = append(ss.log, "user", user)
	ss.s.opts.Logger.Info("imap: login", ss.log...)
	return nil
}

// AuthenticateMechanisms offers PLAIN only.
func (ss *session) AuthenticateMechanisms() []string { return []string{sasl.Plain} }

// Authenticate checks a PLAIN response through Login.
func (ss *session) Authenticate(mech string) (sasl.Server, error) {
	if !strings.EqualFold(mech, sasl.Plain) {
		return nil, &goimap.Error{Type: goimap.StatusResponseTypeNo, Text: "unsupported mechanism"}
	}
	return sasl.NewPlainServer(func(identity, user, password string) error {
		if identity != "" && identity != user {
			return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeAuthorizationFailed, Text: "identity differs from user"}
		}
		return ss.Login(user, password)
	}), nil
}

// imapError turns a mailbox error into the response a client can act on.
func (ss *session) imapError(op string, err error) error {
	switch {
	case errors.Is(err, mailbox.ErrNoFolder):
		return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeNonExistent, Text: "no such folder"}
	case errors.Is(err, mailbox.ErrFolderExists):
		return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeAlreadyExists, Text: "folder exists"}
	case errors.Is(err, mailbox.ErrInvalidFolder):
		return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeCannot, Text: "invalid folder name"}
	case errors.Is(err, mailbox.ErrNoMessage):
		return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeNonExistent, Text: "no such message"}
	case errors.Is(err, mailbox.ErrQuota):
		return errOverQuota
	case errors.Is(err, mailbox.ErrReadOnly):
		return errArchive
	}
	ss.s.opts.Logger.Error("imap: "+op, append(ss.log, "err", err)...)
	return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeServerBug, Text: op + " failed"}
}

var (
	// errOverQuota is RFC 9208 §4.3's answer to an APPEND or COPY that
	// does not fit.
	errOverQuota = &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeOverQuota, Text: "mailbox is over quota: delete some messages first"}
	// errArchive refuses any removal from, or addition to, Archive.
	errArchive = &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeNoPerm, Text: "Archive is read-only: its certified messages are kept and cannot be deleted or added"}
)

func refused(text string) error {
	return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeCannot, Text: text}
}

func (ss *session) Create(name string, _ *goimap.CreateOptions) error {
	if err := ss.box.CreateFolder(ss.ctx(), name); err != nil {
		return ss.imapError("create", err)
	}
	return nil
}

func (ss *session) Delete(string) error { return refused("DELETE not supported") }
func (ss *session) Rename(string, string, *goimap.RenameOptions) error {
	return refused("RENAME not supported")
}

// Subscribe accepts: every folder counts as subscribed.
func (ss *session) Subscribe(string) error   { return nil }
func (ss *session) Unsubscribe(string) error { return refused("every folder is subscribed") }

// specialUse gives the RFC 6154 attributes of the folders Dovecot marks.
func specialUse(name string) []goimap.MailboxAttr {
	switch name {
	case mailbox.Sent:
		return []goimap.MailboxAttr{goimap.MailboxAttrSent}
	case mailbox.Archive:
		return []goimap.MailboxAttr{goimap.MailboxAttrArchive}
	}
	return nil
}

func (ss *session) List(w *imapserver.ListWriter, ref string, patterns []string, options *goimap.ListOptions) error {
	if len(patterns) == 0 {
		return w.WriteList(&goimap.ListData{Attrs: []goimap.MailboxAttr{goimap.MailboxAttrNoSelect}, Delim: delim})
	}
	names, err := ss.box.Folders(ss.ctx())
	if err != nil {
		return ss.imapError("list", err)
	}
	sort.Strings(names[1:])
	for _, name := range names {
		match := false
		for _, p := range patterns {
			if imapserver.MatchList(name, delim, ref, p) {
				match = true
				break
			}
		}
		if !match {
			continue
		}
		attrs := specialUse(name)
		if options.SelectSpecialUse && len(attrs) == 0 {
			continue
		}
		// Given whether asked for or not, as Dovecot does (RFC 6154 §2),
		// so that clients without the extension find the Sent folder.
		attrs = append(attrs, goimap.MailboxAttrHasNoChildren)
		if options.SelectSubscribed || options.ReturnSubscribed {
			attrs = append(attrs, goimap.MailboxAttrSubscribed)
		}
		data := &goimap.ListData{Mailbox: name, Delim: delim, Attrs: attrs}
		if options.ReturnStatus != nil {
			if data.Status, err = ss.Status(name, options.ReturnStatus); err != nil {
				return err
			}
		}
		if err := w.WriteList(data); err != nil {
			return err
		}
	}
	return nil
}

func (ss *session) Status(name string, options *goimap.StatusOptions) (*goimap.StatusData, error) {
	d, err := ss.box.List(ss.ctx(), name)
	if err != nil {
		return nil, ss.imapError("status", err)
	}
	st := &goimap.StatusData{Mailbox: d.Name, UIDNext: goimap.UID(d.UIDNext), UIDValidity: d.UIDValidity}
	count := func(f mailbox.Flags, set bool) *uint32 {
		var n uint32
		for _, m := range d.Messages {
			if (m.Flags&f != 0) == set {
				n++
			}
		}
		return &n
	}
	if options.NumMessages {
		n := uint32(len(d.Messages))
		st.NumMessages = &n
	}
	if options.NumUnseen {
		st.NumUnseen = count(mailbox.Seen, false)
	}
	if options.NumDeleted {
		st.NumDeleted = count(mailbox.Deleted, true)
	}
	if options.NumRecent {
		var zero uint32
		st.NumRecent = &zero
	}
	if options.Size {
		st.Size = &d.Size
	}
	return st, nil
}

func (ss *session) Append(name string, r goimap.LiteralReader, options *goimap.AppendOptions) (*goimap.AppendData, error) {
	if name == mailbox.Archive {
		return nil, errArchive
	}
	uid, err := ss.box.Deliver(ss.ctx(), name, r, toFlags(options.Flags), options.Time)
	if errors.Is(err, mailbox.ErrNoFolder) {
		return nil, &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeTryCreate, Text: "no such folder"}
	}
	if err != nil {
		return nil, ss.imapError("append", err)
	}
	d, err := ss.box.List(ss.ctx(), name)
	if err != nil {
		return nil, ss.imapError("append", err)
	}
	return &goimap.AppendData{UID: goimap.UID(uid), UIDValidity: d.UIDValidity}, nil
}

// toFlags keeps the system flags of an IMAP flag list.
func toFlags(flags []goimap.Flag) mailbox.Flags {
	var f mailbox.Flags
	for _, fl := range flags {
		if x, ok := mailbox.ParseFlag(string(fl)); ok {
			f |= x
		}
	}
	return f
}

var systemFlags = []goimap.Flag{goimap.FlagSeen, goimap.FlagAnswered, goimap.FlagFlagged, goimap.FlagDeleted, goimap.FlagDraft}

// fromFlags lists the IMAP flags of a set.
func fromFlags(f mailbox.Flags) []goimap.Flag {
	out := make([]goimap.Flag, 0, 5)
	for i, fl := range systemFlags {
		if f&(1<<i) != 0 {
			out = append(out, fl)
		}
	}
	return out
}
