package pop3

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		line string
		want string // name and args joined by |, or "error"
	}{
		{"USER mario\r\n", "USER|mario"},
		{"user mario", "USER|mario"},
		{"PASS pass with spaces \r\n", "PASS|pass with spaces "},
		{"TOP 1  10", "TOP|1|10"},
		{"STAT", "STAT"},
		{"AUTH PLAIN AGEAYg==", "AUTH|PLAIN|AGEAYg=="},
		{"RETR 1 2 3", "error"},
		{"", "error"},
		{" USER x", "error"},
		{"US", "error"},
		{"USERS x", "error"},
		{"U5ER x", "error"},
	} {
		cmd, err := parseCommand(tc.line)
		got := "error"
		if err == nil {
			got = strings.Join(append([]string{cmd.name}, cmd.args...), "|")
		}
		if got != tc.want {
			t.Errorf("parseCommand(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestWriteMultiline(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		top      int
		want     string
	}{
		{"crlf", "A: b\r\n\r\nx\r\n", -1, "A: b\r\n\r\nx\r\n.\r\n"},
		{"bare lf", "A: b\n\nx\ny", -1, "A: b\r\n\r\nx\r\ny\r\n.\r\n"},
		{"dots", ".A\r\n\r\n.\r\n..x\r\n", -1, "..A\r\n\r\n..\r\n...x\r\n.\r\n"},
		{"empty", "", -1, ".\r\n"},
		{"top 0", "A: b\r\n\r\n1\r\n2\r\n", 0, "A: b\r\n\r\n.\r\n"},
		{"top 1", "A: b\r\n\r\n1\r\n2\r\n", 1, "A: b\r\n\r\n1\r\n.\r\n"},
		{"top past end", "A: b\r\n\r\n1\r\n", 5, "A: b\r\n\r\n1\r\n.\r\n"},
		{"no body", "A: b\r\n", 3, "A: b\r\n.\r\n"},
		{"long line", "A: b\r\n\r\n" + strings.Repeat("x", 70000) + "\r\n.y\r\n", 1, "A: b\r\n\r\n" + strings.Repeat("x", 70000) + "\r\n.\r\n"},
		{"cr at buffer end", strings.Repeat("x", 32<<10-1) + "\r\n.z\r\n", -1, strings.Repeat("x", 32<<10-1) + "\r\n..z\r\n.\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, slow := range []bool{false, true} {
				var out bytes.Buffer
				w := bufio.NewWriter(&out)
				r := strings.NewReader(tc.in)
				var err error
				if slow {
					err = writeMultiline(w, iotest.OneByteReader(r), tc.top)
				} else {
					err = writeMultiline(w, r, tc.top)
				}
				if err != nil {
					t.Fatal(err)
				}
				w.Flush()
				if out.String() != tc.want {
					t.Errorf("slow %v: got %q, want %q", slow, trunc(out.String()), trunc(tc.want))
				}
			}
		})
	}
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:40] + "…" + s[len(s)-40:]
	}
	return s
}
