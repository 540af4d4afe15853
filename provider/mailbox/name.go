package mailbox

import (
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// maildirName is a parsed Maildir file name: "<base>[:2,<letters>]", where
// base may carry Dovecot's ",S=<size>" field.
type maildirName struct {
	base  string // the unique part with its ",key=value" fields
	size  int64  // from ",S=", or -1
	flags Flags
	other string // letters this package does not know, kept as they were
}

// flagLetters maps each system flag to its Maildir letter.
var flagLetters = [...]struct {
	f Flags
	c byte
}{{Draft, 'D'}, {Flagged, 'F'}, {Answered, 'R'}, {Seen, 'S'}, {Deleted, 'T'}}

// parseName reads a Maildir file name. It never fails: a name without
// the ":2," info has no flags, and a name without ",S=" has size -1.
func parseName(name string) maildirName {
	n := maildirName{base: name, size: -1}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		n.base = name[:i]
		if info, ok := strings.CutPrefix(name[i+1:], "2,"); ok {
			n.flags, n.other = parseLetters(info)
		}
	}
	for f := range strings.SplitSeq(n.base, ",") {
		if v, ok := strings.CutPrefix(f, "S="); ok {
			if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
				n.size = s
			}
		}
	}
	return n
}

func parseLetters(info string) (Flags, string) {
	var flags Flags
	var other []byte
next:
	for i := 0; i < len(info); i++ {
		c := info[i]
		for _, l := range flagLetters {
			if c == l.c {
				flags |= l.f
				continue next
			}
		}
		if c > ' ' && c < 0x7f && c != '/' && c != ':' && strings.IndexByte(string(other), c) < 0 {
			other = append(other, c)
		}
	}
	return flags, string(other)
}

// String returns the file name: base, then ":2," and the letters in ASCII
// order as the Maildir specification asks.
func (n maildirName) String() string {
	letters := []byte(n.other)
	for _, l := range flagLetters {
		if n.flags&l.f != 0 {
			letters = append(letters, l.c)
		}
	}
	sort.Slice(letters, func(i, j int) bool { return letters[i] < letters[j] })
	return n.base + ":2," + string(letters)
}

var (
	nameCounter atomic.Uint64
	hostName    = sanitizeHost()
	processID   = os.Getpid()
)

// sanitizeHost returns the host name with '/' and ':' escaped as the
// Maildir specification asks, and ',' escaped so that fields stay apart.
func sanitizeHost() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "localhost"
	}
	r := strings.NewReplacer("/", `\057`, ":", `\072`, ",", `\054`)
	return r.Replace(h)
}

// newBase returns a fresh unique base name for a message of size bytes
// delivered at now: "<sec>.M<usec>P<pid>Q<n>.<host>,S=<size>".
func newBase(now time.Time, size int64) string {
	b := make([]byte, 0, 64)
	b = strconv.AppendInt(b, now.Unix(), 10)
	b = append(b, ".M"...)
	b = strconv.AppendInt(b, int64(now.Nanosecond()/1000), 10)
	b = append(b, 'P')
	b = strconv.AppendInt(b, int64(processID), 10)
	b = append(b, 'Q')
	b = strconv.AppendUint(b, nameCounter.Add(1), 10)
	b = append(b, '.')
	b = append(b, hostName...)
	b = append(b, ",S="...)
	b = strconv.AppendInt(b, size, 10)
	return string(b)
}
