package pop3

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"github.com/pecsdk/pec/provider/mailbox"
)

func decodeBase64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(s)
}

// uidl returns a message's unique-id as Dovecot's default format gives it.
func (ss *session) uidl(i int) string {
	return fmt.Sprintf("%08x%08x", ss.msgs[i].UID, ss.valid)
}

// message returns the index of the message numbered by arg, if it exists
// and is not deleted.
func (ss *session) message(arg string) (int, string) {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 1 || n > len(ss.msgs) {
		return 0, "no such message"
	}
	if ss.deleted[n-1] {
		return 0, "message " + arg + " already deleted"
	}
	return n - 1, ""
}

func (ss *session) transaction(cmd command) error {
	switch cmd.name {
	case "CAPA":
		return ss.multiline("Capability list follows", ss.capabilities())
	case "NOOP":
		return ss.reply(true, "")
	case "STAT":
		n, size := 0, int64(0)
		for i, m := range ss.msgs {
			if !ss.deleted[i] {
				n++
				size += m.Size
			}
		}
		return ss.reply(true, strconv.Itoa(n)+" "+strconv.FormatInt(size, 10))
	case "LIST", "UIDL":
		value := func(i int) string { return strconv.FormatInt(ss.msgs[i].Size, 10) }
		if cmd.name == "UIDL" {
			value = ss.uidl
		}
		if len(cmd.args) > 0 {
			i, bad := ss.message(cmd.args[0])
			if bad != "" {
				return ss.reply(false, bad)
			}
			return ss.reply(true, cmd.args[0]+" "+value(i))
		}
		var lines []string
		for i := range ss.msgs {
			if !ss.deleted[i] {
				lines = append(lines, strconv.Itoa(i+1)+" "+value(i))
			}
		}
		return ss.multiline("", lines)
	case "RETR", "TOP":
		want := 1
		if cmd.name == "TOP" {
			want = 2
		}
		if len(cmd.args) != want {
			return ss.reply(false, cmd.name+" takes "+strconv.Itoa(want)+" arguments")
		}
		i, bad := ss.message(cmd.args[0])
		if bad != "" {
			return ss.reply(false, bad)
		}
		lines := -1
		if cmd.name == "TOP" {
			n, err := strconv.Atoi(cmd.args[1])
			if err != nil || n < 0 {
				return ss.reply(false, "invalid line count")
			}
			lines = n
		}
		return ss.retrieve(i, lines)
	case "DELE":
		if len(cmd.args) != 1 {
			return ss.reply(false, "DELE takes one argument")
		}
		i, bad := ss.message(cmd.args[0])
		if bad != "" {
			return ss.reply(false, bad)
		}
		ss.deleted[i] = true
		return ss.reply(true, "message "+cmd.args[0]+" deleted")
	case "RSET":
		clear(ss.deleted)
		return ss.reply(true, "")
	case "QUIT":
		return ss.update()
	}
	return ss.reply(false, "unknown command: "+cmd.name)
}

// retrieve sends message i, whole or its header and lines body lines,
// and marks it seen as a POP3 download.
func (ss *session) retrieve(i, lines int) error {
	m := ss.msgs[i]
	r, err := ss.box.Open(ss.s.ctx, mailbox.Inbox, m.UID)
	if err != nil {
		ss.s.opts.Logger.Error("pop3: open message", append(ss.log, "uid", m.UID, "err", err)...)
		return ss.reply(false, "[SYS/TEMP] message unavailable")
	}
	defer r.Close()
	ss.conn.SetWriteDeadline(time.Now().Add(ss.s.opts.WriteTimeout))
	ss.w.WriteString("+OK " + strconv.FormatInt(m.Size, 10) + " octets\r\n")
	if err := writeMultiline(ss.w, r, lines); err != nil {
		// The response is cut: the client cannot resynchronise.
		ss.s.opts.Logger.Error("pop3: read message", append(ss.log, "uid", m.UID, "err", err)...)
		return err
	}
	if err := ss.w.Flush(); err != nil {
		return err
	}
	if lines < 0 && m.Flags&mailbox.Seen == 0 {
		if err := ss.box.SetFlags(ss.s.ctx, mailbox.Inbox, m.UID, m.Flags|mailbox.Seen); err == nil {
			ss.msgs[i].Flags |= mailbox.Seen
		}
	}
	return nil
}

// update applies the deletions (the UPDATE state, RFC 1939 §6) and ends
// the session.
func (ss *session) update() error {
	var uids []uint32
	for i, d := range ss.deleted {
		if d {
			uids = append(uids, ss.msgs[i].UID)
		}
	}
	if len(uids) > 0 {
		if err := ss.box.Expunge(ss.s.ctx, mailbox.Inbox, uids); err != nil {
			ss.s.opts.Logger.Error("pop3: expunge", append(ss.log, "err", err)...)
			ss.reply(false, "[SYS/TEMP] some deleted messages not removed")
			return errQuit
		}
	}
	ss.reply(true, "bye, "+strconv.Itoa(len(uids))+" messages deleted")
	return errQuit
}
