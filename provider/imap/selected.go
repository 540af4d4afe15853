package imap

import (
	"errors"
	"sort"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/pecsdk/pec/provider/mailbox"
)

// view is the selected folder as the client knows it: sequence number i+1
// is msgs[i]. A message removed by another session stays (gone) until an
// EXPUNGE response may be sent for it.
type view struct {
	name     string
	readOnly bool
	validity uint32
	uidNext  uint32
	msgs     []mailbox.Message
	gone     []bool
}

func (ss *session) Select(name string, options *goimap.SelectOptions) (*goimap.SelectData, error) {
	ss.sel = nil
	d, err := ss.box.List(ss.ctx(), name)
	if err != nil {
		return nil, ss.imapError("select", err)
	}
	v := &view{name: d.Name, readOnly: options != nil && options.ReadOnly, validity: d.UIDValidity, uidNext: d.UIDNext, msgs: d.Messages, gone: make([]bool, len(d.Messages))}
	ss.sel = v
	data := &goimap.SelectData{
		Flags:          systemFlags,
		PermanentFlags: systemFlags,
		NumMessages:    uint32(len(v.msgs)),
		UIDNext:        goimap.UID(v.uidNext),
		UIDValidity:    v.validity,
	}
	if v.readOnly {
		data.PermanentFlags = nil
	} else if v.name == mailbox.Archive {
		data.PermanentFlags = archiveFlags
	}
	for i, m := range v.msgs {
		if m.Flags&mailbox.Seen == 0 {
			data.FirstUnseenSeqNum = uint32(i + 1)
			break
		}
	}
	return data, nil
}

func (ss *session) Unselect() error {
	ss.sel = nil
	return nil
}

// Poll tells the client what changed in the selected folder since it last
// looked: new messages, flags changed and, when allowed, expunged ones.
func (ss *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	if ss.sel == nil {
		return nil
	}
	return ss.poll(w, allowExpunge)
}

func (ss *session) poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	v := ss.sel
	d, err := ss.box.List(ss.ctx(), v.name)
	if err != nil {
		return ss.imapError("poll", err)
	}
	if d.UIDValidity != v.validity {
		// Renumbered under us: RFC 3501 §2.3.1.1 leaves the client no way
		// to resynchronise but a new SELECT.
		ss.conn.Close()
		return errors.New("imap: UIDVALIDITY changed on disk")
	}
	now := make(map[uint32]mailbox.Flags, len(d.Messages))
	for _, m := range d.Messages {
		now[m.UID] = m.Flags
	}
	for i := len(v.msgs) - 1; i >= 0; i-- {
		m := v.msgs[i]
		f, ok := now[m.UID]
		if ok {
			if f != m.Flags && !v.gone[i] {
				v.msgs[i].Flags = f
				if err := w.WriteMessageFlags(uint32(i+1), goimap.UID(m.UID), fromFlags(f)); err != nil {
					return err
				}
			}
			continue
		}
		if !allowExpunge {
			v.gone[i] = true
			continue
		}
		if err := w.WriteExpunge(uint32(i + 1)); err != nil {
			return err
		}
		v.msgs = append(v.msgs[:i], v.msgs[i+1:]...)
		v.gone = append(v.gone[:i], v.gone[i+1:]...)
	}
	var last uint32
	if len(v.msgs) > 0 {
		last = v.msgs[len(v.msgs)-1].UID
	}
	n := len(v.msgs)
	for _, m := range d.Messages {
		if m.UID > last {
			v.msgs = append(v.msgs, m)
			v.gone = append(v.gone, false)
		}
	}
	v.uidNext = d.UIDNext
	if len(v.msgs) != n {
		return w.WriteNumMessages(uint32(len(v.msgs)))
	}
	return nil
}

// Idle tells the client of changes until stop is closed: at once for
// changes made through this process's store (mailbox.Watcher), and every
// Options.IdlePoll for those of other processes.
func (ss *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	t := time.NewTicker(ss.s.opts.IdlePoll)
	defer t.Stop()
	for {
		// Ask for the next change before looking, so that none falls
		// between the look and the wait.
		var changed <-chan struct{}
		if wb, ok := ss.box.(mailbox.Watcher); ok && ss.sel != nil {
			changed = wb.Changed(ss.sel.name)
		}
		if ss.sel != nil {
			if err := ss.poll(w, true); err != nil {
				return err
			}
		}
		select {
		case <-stop:
			return nil
		case <-ss.ctx().Done():
			return nil
		case <-changed:
		case <-t.C:
		}
	}
}

// resolve returns the indexes in the view of the messages numSet names,
// in order; "*" is the last message (RFC 3501 §6.4.8).
func (v *view) resolve(numSet goimap.NumSet) []int {
	mark := make([]bool, len(v.msgs))
	switch set := numSet.(type) {
	case goimap.SeqSet:
		max := uint32(len(v.msgs))
		for _, r := range set {
			start, stop := static(r.Start, r.Stop, max)
			for s := maxU32(start, 1); s <= stop && s <= max; s++ {
				mark[s-1] = true
			}
		}
	case goimap.UIDSet:
		var max uint32
		if len(v.msgs) > 0 {
			max = v.msgs[len(v.msgs)-1].UID
		}
		for _, r := range set {
			start, stop := static(uint32(r.Start), uint32(r.Stop), max)
			i := sort.Search(len(v.msgs), func(i int) bool { return v.msgs[i].UID >= start })
			for ; i < len(v.msgs) && v.msgs[i].UID <= stop; i++ {
				mark[i] = true
			}
		}
	}
	var out []int
	for i, m := range mark {
		if m && !v.gone[i] {
			out = append(out, i)
		}
	}
	return out
}

func maxU32(a, b uint32) uint32 {
	if a > b {
		return a
	}
	return b
}

// static gives "*" (0) its value and orders the range.
func static(start, stop, max uint32) (uint32, uint32) {
	if start == 0 {
		start = max
	}
	if stop == 0 {
		stop = max
	}
	if start > stop {
		start, stop = stop, start
	}
	return start, stop
}

func readOnly() error {
	return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeNoPerm, Text: "folder is read-only"}
}

// archiveFlags are the flags a message keeps in Archive: all but
// \Deleted, since nothing is removed from it.
var archiveFlags = []goimap.Flag{goimap.FlagSeen, goimap.FlagAnswered, goimap.FlagFlagged, goimap.FlagDraft}

func (ss *session) Store(w *imapserver.FetchWriter, numSet goimap.NumSet, flags *goimap.StoreFlags, _ *goimap.StoreOptions) error {
	v := ss.sel
	if v.readOnly {
		return readOnly()
	}
	change := toFlags(flags.Flags)
	if v.name == mailbox.Archive && change&mailbox.Deleted != 0 && flags.Op != goimap.StoreFlagsDel {
		return errArchive
	}
	for _, i := range v.resolve(numSet) {
		m := &v.msgs[i]
		f := m.Flags
		switch flags.Op {
		case goimap.StoreFlagsSet:
			f = change
		case goimap.StoreFlagsAdd:
			f |= change
		case goimap.StoreFlagsDel:
			f &^= change
		}
		if f != m.Flags {
			if err := ss.box.SetFlags(ss.ctx(), v.name, m.UID, f); err != nil {
				if errors.Is(err, mailbox.ErrNoMessage) {
					continue // expunged meanwhile: the next poll says so
				}
				return ss.imapError("store", err)
			}
			m.Flags = f
		}
		if !flags.Silent {
			rw := w.CreateMessage(uint32(i + 1))
			rw.WriteUID(goimap.UID(m.UID))
			rw.WriteFlags(fromFlags(m.Flags))
			if err := rw.Close(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (ss *session) Expunge(w *imapserver.ExpungeWriter, uids *goimap.UIDSet) error {
	v := ss.sel
	if v.readOnly {
		// Nothing is removed from a folder opened with EXAMINE; CLOSE
		// must still succeed (RFC 3501 §6.4.2), so EXPUNGE succeeds too.
		return nil
	}
	var del []uint32
	for i, m := range v.msgs {
		if m.Flags&mailbox.Deleted != 0 && !v.gone[i] && (uids == nil || uids.Contains(goimap.UID(m.UID))) {
			del = append(del, m.UID)
		}
	}
	if len(del) == 0 {
		return nil
	}
	if v.name == mailbox.Archive {
		return errArchive
	}
	if err := ss.box.Expunge(ss.ctx(), v.name, del); err != nil {
		return ss.imapError("expunge", err)
	}
	gone := make(map[uint32]bool, len(del))
	for _, u := range del {
		gone[u] = true
	}
	for i := len(v.msgs) - 1; i >= 0; i-- {
		if gone[v.msgs[i].UID] {
			if err := w.WriteExpunge(uint32(i + 1)); err != nil {
				return err
			}
			v.msgs = append(v.msgs[:i], v.msgs[i+1:]...)
			v.gone = append(v.gone[:i], v.gone[i+1:]...)
		}
	}
	return nil
}

// Copy copies the messages one by one; if one fails (over quota), those
// copied are removed again, so that the destination is as before
// (RFC 3501 §6.4.7).
func (ss *session) Copy(numSet goimap.NumSet, dest string) (*goimap.CopyData, error) {
	v := ss.sel
	if dest == mailbox.Archive {
		return nil, errArchive
	}
	if _, err := ss.box.List(ss.ctx(), dest); err != nil {
		if errors.Is(err, mailbox.ErrNoFolder) {
			return nil, &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeTryCreate, Text: "no such folder"}
		}
		return nil, ss.imapError("copy", err)
	}
	var data goimap.CopyData
	var copied []uint32
	undo := func(err error) (*goimap.CopyData, error) {
		if len(copied) > 0 {
			if uerr := ss.box.Expunge(ss.ctx(), dest, copied); uerr != nil {
				ss.s.opts.Logger.Error("imap: copy: removing a partial copy", append(ss.log, "folder", dest, "err", uerr)...)
			}
		}
		return nil, ss.imapError("copy", err)
	}
	for _, i := range v.resolve(numSet) {
		m := v.msgs[i]
		r, err := ss.box.Open(ss.ctx(), v.name, m.UID)
		if err != nil {
			return undo(err)
		}
		uid, err := ss.box.Deliver(ss.ctx(), dest, r, m.Flags, m.InternalDate)
		r.Close()
		if err != nil {
			return undo(err)
		}
		copied = append(copied, uid)
		data.SourceUIDs.AddNum(goimap.UID(m.UID))
		data.DestUIDs.AddNum(goimap.UID(uid))
	}
	d, err := ss.box.List(ss.ctx(), dest)
	if err != nil {
		return nil, ss.imapError("copy", err)
	}
	data.UIDValidity = d.UIDValidity
	return &data, nil
}
