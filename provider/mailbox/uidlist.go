package mailbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// uidListName is the file, in each folder's directory, that keeps its
// UIDVALIDITY, next UID and the UID of each message, in Dovecot's format.
const uidListName = "dovecot-uidlist"

// errUIDListHeader is returned by parseUIDList for a file whose first line
// is neither a version 1 nor a version 3 header.
var errUIDListHeader = errors.New("mailbox: dovecot-uidlist: unreadable header")

// uidList is the content of a dovecot-uidlist file.
type uidList struct {
	validity uint32
	next     uint32
	guid     string            // "G" header field, kept as read
	uids     map[string]uint32 // base name (no ":2," info) → UID
}

// parseUIDList reads a dovecot-uidlist of version 3 ("3 V<validity>
// N<next> G<guid> ..."), or of version 1 ("1 <validity> <next>"). Lines it
// cannot read are skipped; so are UIDs given twice (the first wins) and
// UIDs of 0. The next UID is raised above every UID read.
func parseUIDList(r io.Reader) (*uidList, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.ReadString('\n')
	if err != nil && (err != io.EOF || head == "") {
		if err == io.EOF {
			return nil, errUIDListHeader
		}
		return nil, err
	}
	l := &uidList{uids: make(map[string]uint32)}
	fields := strings.Fields(head)
	if len(fields) == 0 {
		return nil, errUIDListHeader
	}
	version := fields[0]
	switch version {
	case "1":
		if len(fields) < 3 {
			return nil, errUIDListHeader
		}
		v, err1 := strconv.ParseUint(fields[1], 10, 32)
		n, err2 := strconv.ParseUint(fields[2], 10, 32)
		if err1 != nil || err2 != nil {
			return nil, errUIDListHeader
		}
		l.validity, l.next = uint32(v), uint32(n)
	case "2", "3":
		for _, f := range fields[1:] {
			if len(f) < 2 {
				continue
			}
			switch f[0] {
			case 'V':
				if v, err := strconv.ParseUint(f[1:], 10, 32); err == nil {
					l.validity = uint32(v)
				}
			case 'N':
				if n, err := strconv.ParseUint(f[1:], 10, 32); err == nil {
					l.next = uint32(n)
				}
			case 'G':
				if validGUID(f[1:]) {
					l.guid = f[1:]
				}
			}
		}
	default:
		return nil, errUIDListHeader
	}
	if l.validity == 0 {
		return nil, errUIDListHeader
	}
	used := make(map[uint32]bool)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if uid, base, ok := parseUIDLine(line, version == "1"); ok && !used[uid] {
				if _, dup := l.uids[base]; !dup {
					l.uids[base] = uid
					used[uid] = true
					if uid >= l.next {
						l.next = uid + 1
					}
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if l.next == 0 {
		l.next = 1
	}
	return l, nil
}

// parseUIDLine reads "<uid> [<ext>...] :<base>" (version 3) or
// "<uid> <name>" (version 1). The base loses any ":2," info.
func parseUIDLine(line string, v1 bool) (uint32, string, bool) {
	line = strings.TrimRight(line, "\r\n")
	sp := strings.IndexByte(line, ' ')
	if sp <= 0 {
		return 0, "", false
	}
	uid, err := strconv.ParseUint(line[:sp], 10, 32)
	if err != nil || uid == 0 || uid == 1<<32-1 {
		return 0, "", false
	}
	rest := line[sp+1:]
	var name string
	if v1 {
		name = strings.TrimSpace(rest)
	} else {
		i := strings.Index(rest, ":")
		if i < 0 {
			return 0, "", false
		}
		if i > 0 && rest[i-1] != ' ' {
			return 0, "", false
		}
		name = rest[i+1:]
	}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		name = name[:i]
	}
	if !validBase(name) {
		return 0, "", false
	}
	return uint32(uid), name, true
}

// validBase reports whether s can be a message's base name: a single
// path element without space, control characters or ':'.
func validBase(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f || c == '/' || c == ':' {
			return false
		}
	}
	return true
}

func validGUID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// marshal writes l as a version 3 dovecot-uidlist, lines in UID order.
func (l *uidList) marshal() []byte {
	type entry struct {
		uid  uint32
		base string
	}
	entries := make([]entry, 0, len(l.uids))
	for b, u := range l.uids {
		entries = append(entries, entry{u, b})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].uid < entries[j].uid })
	var buf bytes.Buffer
	buf.Grow(32 + 48*len(entries))
	fmt.Fprintf(&buf, "3 V%d N%d", l.validity, l.next)
	if l.guid != "" {
		buf.WriteString(" G" + l.guid)
	}
	buf.WriteByte('\n')
	var num []byte
	for _, e := range entries {
		num = strconv.AppendUint(num[:0], uint64(e.uid), 10)
		buf.Write(num)
		buf.WriteString(" :")
		buf.WriteString(e.base)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}
