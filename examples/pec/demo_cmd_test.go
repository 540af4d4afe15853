package main

import (
	"strings"
	"testing"
)

// TestDemoCommand: with no arguments the tool demonstrates itself and every
// sample verifies, against the sample CA and then through the sample
// provider index.
func TestDemoCommand(t *testing.T) {
	st, stdout, stderr := runTool()
	if st != 0 {
		t.Fatalf("demo: status %d\n%s%s", st, stdout, stderr)
	}
	n := 0
	for _, l := range strings.Split(stdout, "\n") {
		if strings.Contains(l, ": OK ") {
			n++
		}
	}
	if n != 28 {
		t.Errorf("%d lines with \": OK \", want 28 (14 by the CA, 14 by the index)\n%s", n, stdout)
	}
	if !strings.Contains(stdout, "pec.mittente.example: PEC domain of") {
		t.Errorf("no index lookup in the demo:\n%s", stdout)
	}
	if stderr != "" {
		t.Errorf("stderr: %s", stderr)
	}
}

// TestUsage: unknown commands and bad arguments exit 2 with the usage.
func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		status int
	}{
		{"help", []string{"help"}, 0},
		{"unknown", []string{"frobnicate"}, 2},
		{"sample-without-folder", []string{"sample"}, 2},
		{"sample-extra-argument", []string{"sample", "-o", t.TempDir(), "x"}, 2},
		{"inspect-no-file", []string{"inspect", "--json"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, stdout, stderr := runTool(tc.args...)
			if st != tc.status {
				t.Errorf("status %d, want %d\n%s%s", st, tc.status, stdout, stderr)
			}
			if tc.status != 0 && stderr == "" {
				t.Errorf("no message on stderr")
			}
		})
	}
}
