package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyWrapped: a PEC message attached to an ordinary one verifies,
// and the line says that only the attached message is certified, so that
// the wrapper's own text is not taken for certified content.
func TestVerifyWrapped(t *testing.T) {
	dir := t.TempDir()
	if st, out, errs := runTool("sample", "-o", dir); st != 0 {
		t.Fatalf("pec sample: %d\n%s%s", st, out, errs)
	}
	env, err := os.ReadFile(filepath.Join(dir, "01-transport.eml"))
	if err != nil {
		t.Fatal(err)
	}
	wrapper := "From: someone@example.org\r\nTo: you@example.org\r\nSubject: Fwd: PEC\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=w\r\n\r\n--w\r\nContent-Type: text/plain\r\n\r\nPay now.\r\n" +
		"--w\r\nContent-Type: message/rfc822\r\n\r\n" + string(env) + "\r\n--w--\r\n"
	for _, tc := range []struct {
		name, content string
		wrapped       bool
	}{
		{"plain", string(env), false},
		{"wrapped", wrapper, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".eml")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			st, out, errs := runTool("verify", "--ldif", filepath.Join(dir, "index.ldif"), path)
			if st != 0 || !strings.Contains(out, ": OK transport: intact") {
				t.Fatalf("pec verify: status %d\n%s%s", st, out, errs)
			}
			if got := strings.Contains(out, "only the attached PEC message is certified"); got != tc.wrapped {
				t.Errorf("wrapper noted = %v, want %v:\n%s", got, tc.wrapped, out)
			}
		})
	}
}
