package imap

import (
	"bufio"
	"bytes"
	"io"
	"net/mail"
	"strings"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"

	"github.com/pecsdk/pec/provider/mailbox"
)

func (ss *session) Search(kind imapserver.NumKind, criteria *goimap.SearchCriteria, _ *goimap.SearchOptions) (*goimap.SearchData, error) {
	v := ss.sel
	var (
		data goimap.SearchData
		seqs goimap.SeqSet
		uids goimap.UIDSet
	)
	for i := range v.msgs {
		if v.gone[i] {
			continue
		}
		c := &candidate{ss: ss, seq: uint32(i + 1), m: v.msgs[i]}
		ok, err := c.match(criteria)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		num := c.seq
		if kind == imapserver.NumKindUID {
			num = c.m.UID
			uids.AddNum(goimap.UID(num))
		} else {
			seqs.AddNum(num)
		}
		if data.Min == 0 || num < data.Min {
			data.Min = num
		}
		if num > data.Max {
			data.Max = num
		}
		data.Count++
	}
	if kind == imapserver.NumKindUID {
		data.All = uids
	} else {
		data.All = seqs
	}
	return &data, nil
}

// candidate is one message under test, its bytes read at most once and
// only if a criterion needs them.
type candidate struct {
	ss     *session
	seq    uint32
	m      mailbox.Message
	raw    []byte
	header textproto.Header
	body   []byte
	loaded bool
}

func (c *candidate) load() error {
	if c.loaded {
		return nil
	}
	r, err := c.ss.box.Open(c.ss.ctx(), c.ss.sel.name, c.m.UID)
	if err != nil {
		return c.ss.imapError("search", err)
	}
	defer r.Close()
	if c.raw, err = io.ReadAll(r); err != nil {
		return c.ss.imapError("search", err)
	}
	br := bufio.NewReader(bytes.NewReader(c.raw))
	c.header, _ = textproto.ReadHeader(br)
	c.body, _ = io.ReadAll(br)
	c.loaded = true
	return nil
}

// day keeps the date alone: SEARCH compares dates, not times (RFC 3501
// §6.4.4).
func day(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func inDays(t, since, before time.Time) bool {
	t = day(t)
	return (since.IsZero() || !t.Before(day(since))) && (before.IsZero() || t.Before(day(before)))
}

func containsFold(haystack []byte, needle string) bool {
	return bytes.Contains(bytes.ToLower(haystack), []byte(strings.ToLower(needle)))
}

func (c *candidate) match(cr *goimap.SearchCriteria) (bool, error) {
	v := c.ss.sel
	for _, set := range cr.SeqNum {
		if !containsSeq(set, c.seq, uint32(len(v.msgs))) {
			return false, nil
		}
	}
	for _, set := range cr.UID {
		var max uint32
		if n := len(v.msgs); n > 0 {
			max = v.msgs[n-1].UID
		}
		if !containsUID(set, c.m.UID, max) {
			return false, nil
		}
	}
	if !inDays(c.m.InternalDate, cr.Since, cr.Before) {
		return false, nil
	}
	for _, f := range cr.Flag {
		x, ok := mailbox.ParseFlag(string(f))
		if !ok || c.m.Flags&x == 0 {
			return false, nil // \Recent and keywords are never set
		}
	}
	for _, f := range cr.NotFlag {
		if x, ok := mailbox.ParseFlag(string(f)); ok && c.m.Flags&x != 0 {
			return false, nil
		}
	}
	if cr.Larger > 0 && c.m.Size <= cr.Larger || cr.Smaller > 0 && c.m.Size >= cr.Smaller {
		return false, nil
	}
	if len(cr.Header) > 0 || !cr.SentSince.IsZero() || !cr.SentBefore.IsZero() || len(cr.Body) > 0 || len(cr.Text) > 0 {
		if err := c.load(); err != nil {
			return false, err
		}
		for _, h := range cr.Header {
			values := c.header.Values(h.Key)
			found := false
			for _, val := range values {
				if containsFold([]byte(val), h.Value) {
					found = true
					break
				}
			}
			if !found {
				return false, nil
			}
		}
		if !cr.SentSince.IsZero() || !cr.SentBefore.IsZero() {
			t, err := mail.ParseDate(c.header.Get("Date"))
			if err != nil || !inDays(t, cr.SentSince, cr.SentBefore) {
				return false, nil
			}
		}
		for _, s := range cr.Body {
			if !containsFold(c.body, s) {
				return false, nil
			}
		}
		for _, s := range cr.Text {
			if !containsFold(c.raw, s) {
				return false, nil
			}
		}
	}
	for i := range cr.Not {
		ok, err := c.match(&cr.Not[i])
		if err != nil || ok {
			return false, err
		}
	}
	for i := range cr.Or {
		a, err := c.match(&cr.Or[i][0])
		if err != nil {
			return false, err
		}
		if !a {
			b, err := c.match(&cr.Or[i][1])
			if err != nil || !b {
				return false, err
			}
		}
	}
	return true, nil
}

func containsSeq(set goimap.SeqSet, n, max uint32) bool {
	for _, r := range set {
		start, stop := static(r.Start, r.Stop, max)
		if start <= n && n <= stop {
			return true
		}
	}
	return false
}

func containsUID(set goimap.UIDSet, n, max uint32) bool {
	for _, r := range set {
		start, stop := static(uint32(r.Start), uint32(r.Stop), max)
		if start <= n && n <= stop {
			return true
		}
	}
	return false
}
