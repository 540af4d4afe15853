package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// flipLetter changes the case of the first letter of the first text/plain
// part's body: a one-byte change inside the signed content, away from any
// header or boundary.
func flipLetter(b []byte) ([]byte, error) {
	i := bytes.Index(b, []byte("Content-Type: text/plain"))
	if i < 0 {
		return nil, errors.New("no text/plain part")
	}
	j := bytes.Index(b[i:], []byte("\r\n\r\n"))
	if j < 0 {
		return nil, errors.New("no body after the text/plain header")
	}
	for p := i + j + 4; p < len(b); p++ {
		if c := b[p]; 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
			out := bytes.Clone(b)
			out[p] ^= 0x20
			return out, nil
		}
	}
	return nil, errors.New("no letter in the text")
}

// verifyLines splits verify output into path → "OK ..." or "FAIL ...".
func verifyLines(t *testing.T, out string) map[string]string {
	t.Helper()
	lines := map[string]string{}
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		for _, sep := range []string{": OK ", ": FAIL ", ": INTACT "} {
			if path, rest, ok := strings.Cut(l, sep); ok {
				lines[path] = strings.TrimPrefix(sep, ": ") + rest
				break
			}
		}
	}
	return lines
}

// TestVerifyCommand: verify accepts the samples against their CA and
// refuses a changed byte, a foreign CA and plain e-mail, saying why per file.
func TestVerifyCommand(t *testing.T) {
	dir, files := writeSampleDir(t)
	dir2, _ := writeSampleDir(t)
	ca, otherCA := filepath.Join(dir, "ca.pem"), filepath.Join(dir2, "ca.pem")
	var all []string
	for _, f := range files {
		all = append(all, f.path)
	}

	tamperDir := t.TempDir()
	var tampered []string
	for _, f := range files {
		b, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		bad, err := flipLetter(b)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f.path), err)
		}
		p := filepath.Join(tamperDir, filepath.Base(f.path))
		if err := os.WriteFile(p, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		tampered = append(tampered, p)
	}
	plain := filepath.Join("testdata", "plain.eml")

	ldif := filepath.Join(dir, "index.ldif")
	for _, tc := range []struct {
		name   string
		trust  []string // --ca, --ldif, --integrity-only
		paths  []string // the files verified
		status int
		bad    []string // files whose line must contain all of want; the others must be OK
		want   []string
	}{
		{"trusted", []string{"--ca", ca, "--ldif", ldif}, all, 0, nil, nil},
		{"trusted-by-index", []string{"--ldif", ldif}, all, 0, nil, nil},
		{"no-trust-is-no-verdict", nil, all, 1, all, []string{"FAIL ", "intact, trust not checked"}},
		{"integrity-only", []string{"--integrity-only"}, all, 0, all, []string{"INTACT ", "intact, trust not checked", "signed by "}},
		{"ca-alone-is-no-provider", []string{"--ca", ca}, all, 1, all, []string{"FAIL ", "chained to the anchors, signer not established as a PEC provider"}},
		{"one-byte-changed", []string{"--ca", ca, "--ldif", ldif}, tampered, 1, tampered, []string{"FAIL ", "not intact", "digest"}},
		{"one-byte-changed-integrity-only", []string{"--integrity-only"}, tampered[:1], 1, tampered[:1], []string{"FAIL ", "digest"}},
		{"tampered-among-good", []string{"--ca", ca, "--ldif", ldif}, []string{all[0], tampered[6], all[13]}, 1, tampered[6:7], []string{"FAIL ", "digest"}},
		{"other-ca", []string{"--ca", otherCA, "--ldif", ldif}, all, 1, all, []string{"FAIL ", "not trusted"}},
		{"other-index", []string{"--ldif", filepath.Join(dir2, "index.ldif")}, all, 1, all, []string{"FAIL ", "not trusted", "unlisted-signer"}},
		{"plain-email", nil, []string{plain}, 1, []string{plain}, []string{"FAIL "}},
		{"plain-email-with-trust", []string{"--ca", ca, "--ldif", ldif}, []string{plain}, 1, []string{plain}, []string{"FAIL "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"verify"}, tc.trust...)
			st, stdout, stderr := runTool(append(args, tc.paths...)...)
			if st != tc.status {
				t.Errorf("status %d, want %d\n%s%s", st, tc.status, stdout, stderr)
			}
			lines := verifyLines(t, stdout)
			if len(lines) != len(tc.paths) {
				t.Errorf("%d result lines for %d files\n%s", len(lines), len(tc.paths), stdout)
			}
			for _, f := range tc.paths {
				l, ok := lines[f]
				switch {
				case !ok:
					t.Errorf("no line for %s in\n%s", f, stdout)
				case !slices.Contains(tc.bad, f):
					if !strings.HasPrefix(l, "OK ") {
						t.Errorf("%s: %q, want OK", filepath.Base(f), l)
					}
				default:
					for _, w := range tc.want {
						if !strings.Contains(l, w) {
							t.Errorf("%s: %q does not say %q", filepath.Base(f), l, w)
						}
					}
				}
			}
		})
	}

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no-file", []string{"verify"}},
		{"missing-ca", []string{"verify", "--ca", filepath.Join(dir, "absent.pem"), all[0]}},
		{"ca-without-certificate", []string{"verify", "--ca", plain, all[0]}},
		{"bad-flag", []string{"verify", "--nope", all[0]}},
	} {
		t.Run("usage/"+tc.name, func(t *testing.T) {
			if st, stdout, stderr := runTool(tc.args...); st != 2 || stderr == "" {
				t.Errorf("status %d, want 2 with a message\n%s%s", st, stdout, stderr)
			}
		})
	}
}
