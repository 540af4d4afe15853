package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/provider/mailbox"
)

// viewAge is how long a mailbox's view is reused while its folders do not
// change: the states a tracker computes also depend on the clock.
const viewAge = 5 * time.Minute

// maxViews bounds the mailboxes whose view is cached; past it the cache
// starts again empty.
const maxViews = 1000

// item is one message of the list.
type item struct {
	Folder    string
	UID       uint32
	Date      time.Time
	Kind      pec.Kind
	Sent      bool // a message of Sent: it has a timeline
	Subject   string
	From, To  string
	Size      int64
	MessageID string
	Outcome   []outcome // for a sent message: how many recipients stand in each state
}

// outcome is a count of recipients in one state.
type outcome struct {
	State client.State
	N     int
}

// loc is where a message is in the mailbox.
type loc struct {
	folder string
	uid    uint32
}

// view is what the pages show of one mailbox, computed once per state of
// its folders.
type view struct {
	key      string
	built    time.Time
	items    []item                    // newest first
	byDigest map[string]loc            // every message, by the SHA-256 of its bytes
	status   map[uint32]*client.Status // Sent UID → the tracker's status
	used     int64
	limit    int64
}

// mailboxView returns the view of user's mailbox, from the cache when its
// folders have not changed.
func (s *Server) mailboxView(ctx context.Context, user string) (*view, error) {
	mb, err := s.store.Mailbox(ctx, user)
	if err != nil {
		return nil, err
	}
	var folders [2]*mailbox.FolderData
	var key strings.Builder
	for i, name := range []string{mailbox.Inbox, mailbox.Sent} {
		fd, err := mb.List(ctx, name)
		if err != nil {
			return nil, err
		}
		folders[i] = fd
		fmt.Fprintf(&key, "%d/%d/%d;", fd.UIDValidity, fd.UIDNext, len(fd.Messages))
	}
	now := s.opts.Now()
	s.mu.Lock()
	v := s.views[user]
	s.mu.Unlock()
	if v != nil && v.key == key.String() && now.Sub(v.built) < viewAge {
		return v, nil
	}
	v, err = s.build(ctx, mb, folders)
	if err != nil {
		return nil, err
	}
	v.key, v.built = key.String(), now
	s.mu.Lock()
	if !s.closed {
		if len(s.views) >= maxViews {
			clear(s.views)
		}
		s.views[user] = v
	}
	s.mu.Unlock()
	return v, nil
}

// build reads every message of INBOX and Sent, registers the sent ones
// with a tracker kept in memory and feeds it the received ones.
func (s *Server) build(ctx context.Context, mb mailbox.Mailbox, folders [2]*mailbox.FolderData) (*view, error) {
	tr, err := client.OpenTracker("", &client.TrackerOptions{Now: s.opts.Now, NoSync: true})
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	v := &view{byDigest: map[string]loc{}, status: map[uint32]*client.Status{}}
	sentIDs := map[uint32]string{}
	var received []*client.Message
	for i, fd := range folders {
		for _, m := range fd.Messages {
			b, err := readMessage(ctx, mb, fd.Name, m.UID)
			if errors.Is(err, mailbox.ErrNoMessage) {
				continue // expunged since the listing
			}
			if err != nil {
				return nil, err
			}
			cm, err := client.Classify(bytes.NewReader(b), s.opts.Verify)
			if err != nil {
				s.opts.Logger.Warn("web: unreadable message", "folder", fd.Name, "uid", m.UID, "err", err)
				continue
			}
			v.byDigest[cm.Digest] = loc{fd.Name, m.UID}
			it := describe(b, fd.Name, m, cm)
			if i == 1 {
				it.Sent = true
				if sent, ok := sentOf(b, m.InternalDate); ok {
					if err := tr.Register(sent); err != nil {
						s.opts.Logger.Warn("web: sent message not followed", "uid", m.UID, "err", err)
					} else {
						sentIDs[m.UID] = sent.MessageID
					}
				}
			} else {
				received = append(received, cm)
			}
			v.items = append(v.items, it)
		}
	}
	for _, cm := range received {
		if cm.Receipt == nil {
			continue
		}
		if _, err := tr.Observe(cm); err != nil {
			s.opts.Logger.Debug("web: receipt not applied", "id", cm.MessageID, "err", err)
		}
	}
	for uid, id := range sentIDs {
		if st, ok := tr.Status(id); ok {
			v.status[uid] = st
		}
	}
	for i := range v.items {
		if st := v.status[v.items[i].UID]; st != nil && v.items[i].Sent {
			v.items[i].Outcome = outcomes(st)
		}
	}
	slices.SortStableFunc(v.items, func(a, b item) int { return b.Date.Compare(a.Date) })
	v.used, v.limit = folders[0].Size+folders[1].Size, 0
	if mt, ok := mb.(mailbox.Metered); ok {
		if u, err := mt.Usage(ctx); err == nil {
			v.used, v.limit = u.Bytes, u.Limit
		}
	} else if names, err := mb.Folders(ctx); err == nil {
		v.used = 0
		for _, name := range names {
			if name == mailbox.Archive {
				continue
			}
			if fd, err := mb.List(ctx, name); err == nil {
				v.used += fd.Size
			}
		}
	}
	return v, nil
}

func readMessage(ctx context.Context, mb mailbox.Mailbox, folder string, uid uint32) ([]byte, error) {
	rc, err := mb.Open(ctx, folder, uid)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

var words = new(mime.WordDecoder)

func decode(s string) string {
	if d, err := words.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// describe lists a message: date, kind, subject, sender and recipients
// from its header; the date is the header's, else the internal date.
func describe(b []byte, folder string, m mailbox.Message, cm *client.Message) item {
	it := item{Folder: folder, UID: m.UID, Date: m.InternalDate, Kind: cm.Kind, Size: m.Size, MessageID: cm.MessageID}
	msg, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		return it
	}
	h := msg.Header
	if d, err := h.Date(); err == nil {
		it.Date = d
	}
	it.Subject = decode(h.Get("Subject"))
	it.From = decode(h.Get("From"))
	to := decode(h.Get("To"))
	if cc := decode(h.Get("Cc")); cc != "" {
		to += ", " + cc
	}
	it.To = to
	return it
}

// sentOf reads what the tracker needs of a message of Sent: the message as
// its holder submitted it (PEC.md §11.1), as the access point files it.
func sentOf(b []byte, date time.Time) (client.Sent, bool) {
	msg, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		return client.Sent{}, false
	}
	h := msg.Header
	from, err := mail.ParseAddress(h.Get("From"))
	id := pec.NormalizeMsgID(h.Get("Message-Id"))
	if err != nil || id == "" || strings.ContainsAny(id, "<> \t\r\n") {
		return client.Sent{}, false // no identifier to correlate receipts with
	}
	sent := client.Sent{
		MessageID: id, From: from.Address, Subject: decode(h.Get("Subject")),
		To: addresses(h.Get("To")), Cc: addresses(h.Get("Cc")), Time: date,
	}
	if d, err := h.Date(); err == nil {
		sent.Time = d
	}
	if rt, err := pec.ParseReceiptType(h.Get(pec.HeaderReceiptType)); err == nil {
		sent.ReceiptType = rt
	}
	return sent, len(sent.To) > 0
}

func addresses(field string) []string {
	if strings.TrimSpace(field) == "" {
		return nil
	}
	list, err := mail.ParseAddressList(field)
	if err != nil {
		return nil
	}
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.Address
	}
	return out
}

// outcomes counts the recipients of st in each state, the best first.
func outcomes(st *client.Status) []outcome {
	var out []outcome
	for _, rs := range st.Recipients {
		i := slices.IndexFunc(out, func(o outcome) bool { return o.State == rs.State })
		if i < 0 {
			out = append(out, outcome{State: rs.State})
			i = len(out) - 1
		}
		out[i].N++
	}
	slices.SortFunc(out, func(a, b outcome) int { return int(b.State) - int(a.State) })
	return out
}
