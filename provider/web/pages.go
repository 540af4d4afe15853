package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/provider/mailbox"
)

// listPage is the model of the message list.
type listPage struct {
	page
	Items []item
	Used  int64
	Limit int64
}

func (s *Server) messages(w http.ResponseWriter, r *http.Request, ss *session) {
	v, err := s.mailboxView(r.Context(), ss.user)
	if err != nil {
		s.failed(w, ss, err)
		return
	}
	s.render(w, http.StatusOK, "list.html", &listPage{
		page: s.page(r, ss.csrf, ss.user), Items: v.items, Used: v.used, Limit: v.limit,
	})
}

// step is one receipt in a recipient's timeline.
type step struct {
	client.Evidence
	Reason string
}

// line is the timeline of one recipient.
type line struct {
	client.RecipientStatus
	Reason  string
	Overdue bool // certified, not final, past client.OverdueAfter: a receipt owed has not come
	Steps   []step
}

// timelinePage is the model of a sent message's page.
type timelinePage struct {
	page
	Item     item
	Lines    []line
	Problems []string
}

func (s *Server) timeline(w http.ResponseWriter, r *http.Request, ss *session) {
	uid, err := strconv.ParseUint(r.PathValue("uid"), 10, 32)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	v, err := s.mailboxView(r.Context(), ss.user)
	if err != nil {
		s.failed(w, ss, err)
		return
	}
	p := &timelinePage{page: s.page(r, ss.csrf, ss.user)}
	found := false
	for _, it := range v.items {
		if it.Sent && it.UID == uint32(uid) {
			p.Item, found = it, true
		}
	}
	if !found {
		s.render(w, http.StatusNotFound, "timeline.html", p)
		return
	}
	if st := v.status[uint32(uid)]; st != nil {
		p.Problems = st.Problems
		overdue := map[string]bool{}
		for _, rs := range st.Overdue(s.opts.Now()) {
			overdue[rs.Address] = true
		}
		for _, rs := range st.Recipients {
			l := line{RecipientStatus: rs, Overdue: overdue[rs.Address]}
			l.Reason = reason(rs.Error, p.Lang)
			for _, ev := range rs.Events {
				l.Steps = append(l.Steps, step{Evidence: ev, Reason: reason(ev.Error, p.Lang)})
			}
			p.Lines = append(p.Lines, l)
		}
	}
	s.render(w, http.StatusOK, "timeline.html", p)
}

// receipt sends a message of the holder's mailbox, named by the SHA-256 of
// its bytes, as an .eml attachment: the signed receipt, unchanged.
func (s *Server) receipt(w http.ResponseWriter, r *http.Request, ss *session) {
	digest := r.PathValue("digest")
	if len(digest) != 64 {
		http.NotFound(w, r)
		return
	}
	v, err := s.mailboxView(r.Context(), ss.user)
	if err != nil {
		s.failed(w, ss, err)
		return
	}
	l, ok := v.byDigest[digest]
	if !ok {
		http.NotFound(w, r)
		return
	}
	mb, err := s.store.Mailbox(r.Context(), ss.user)
	if err != nil {
		s.failed(w, ss, err)
		return
	}
	b, err := readMessage(r.Context(), mb, l.folder, l.uid)
	if err != nil {
		s.failed(w, ss, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "message/rfc822")
	h.Set("Content-Disposition", `attachment; filename="`+digest[:16]+`.eml"`)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

func (s *Server) failed(w http.ResponseWriter, ss *session, err error) {
	s.opts.Logger.Error("web: mailbox", "user", ss.user, "err", err)
	status := http.StatusInternalServerError
	if errors.Is(err, mailbox.ErrNoMessage) {
		status = http.StatusNotFound
	}
	http.Error(w, http.StatusText(status), status)
}
