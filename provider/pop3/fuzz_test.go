package pop3

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// FuzzParseCommand: a parsed command, written back, parses to the same
// command.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"USER mario", "PASS a b", "TOP 1 2", "AUTH PLAIN AGEAYg==", "quit", "RETR  1", "X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd, err := parseCommand(line)
		if err != nil {
			return
		}
		again, err := parseCommand(cmd.String())
		if err != nil {
			t.Fatalf("%q → %q: %v", line, cmd.String(), err)
		}
		if again.String() != cmd.String() {
			t.Fatalf("%q → %q → %q", line, cmd.String(), again.String())
		}
	})
}

// FuzzWriteMultiline: unstuffing the response gives the message back
// with CRLF line ends.
func FuzzWriteMultiline(f *testing.F) {
	for _, s := range []string{"A: b\r\n\r\n.x\r\n", "a\nb", ".", "\r", "\r\r\n.\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		if err := writeMultiline(w, strings.NewReader(msg), -1); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		resp := out.String()
		if !strings.HasSuffix(resp, "\r\n.\r\n") && resp != ".\r\n" {
			t.Fatalf("unterminated: %q", resp)
		}
		lines := strings.Split(strings.TrimSuffix(resp, ".\r\n"), "\r\n")
		lines = lines[:len(lines)-1]
		for i, l := range lines {
			if strings.HasPrefix(l, ".") {
				if !strings.HasPrefix(l, "..") {
					t.Fatalf("unstuffed dot line %q", l)
				}
				lines[i] = l[1:]
			}
		}
		want := strings.ReplaceAll(msg, "\r\n", "\n")
		want = strings.TrimSuffix(want, "\n")
		got := strings.Join(lines, "\n")
		if msg != "" && got != want {
			t.Fatalf("round trip:\n%q\n%q", got, want)
		}
	})
}
