package main

import (
	"strings"
	"testing"
)

// TestDemoCommand: with no arguments the tool demonstrates itself and every
// sample verifies.
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
	if n != 14 {
		t.Errorf("%d lines with \": OK \", want 14\n%s", n, stdout)
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
