package mailbox

import (
	"bytes"
	"maps"
	"slices"
	"testing"
)

func FuzzParseName(f *testing.F) {
	for _, s := range []string{
		"1700000000.M123P45Q6.host,S=1234,W=1260:2,FS",
		"1700000000.M123P45.host",
		"1.M1P1.h:2,",
		"x:2,abcST",
		"x,S=notanumber:2,ZZ",
		"x:1,foo",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := parseName(s)
		out := n.String()
		n2 := parseName(out)
		if n2.base != n.base || n2.size != n.size || n2.flags != n.flags || sorted(n2.other) != sorted(n.other) {
			t.Fatalf("%q → %q: %+v then %+v", s, out, n, n2)
		}
		if out2 := n2.String(); out2 != out {
			t.Fatalf("String not stable: %q then %q", out, out2)
		}
	})
}

func sorted(s string) string {
	b := []byte(s)
	slices.Sort(b)
	return string(b)
}

func FuzzParseUIDList(f *testing.F) {
	for _, s := range []string{
		"3 V1700000000 N4 G0123456789abcdef0123456789abcdef\n1 :1.M1P1.h,S=3\n2 W12 S3 :2.M1P1.h\n3 :3.x:2,S\n",
		"1 777 20\n10 1.M1P1.h:2,S\n12 2.M1P1.h\n",
		"3 V1 N1\n",
		"3 V5 N2\nbad line\n0 :zero\n4 :dup\n5 :dup\n",
		"2 V9\n1 :a",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := parseUIDList(bytes.NewReader(data))
		if err != nil {
			return
		}
		out := l.marshal()
		l2, err := parseUIDList(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("marshal output unreadable: %v\n%s", err, out)
		}
		if l2.validity != l.validity || l2.next != l.next || l2.guid != l.guid || !maps.Equal(l2.uids, l.uids) {
			t.Fatalf("round trip changed the list:\n%+v\n%+v", l, l2)
		}
		for _, u := range l.uids {
			if u >= l.next {
				t.Fatalf("uid %d not below next %d", u, l.next)
			}
		}
	})
}
