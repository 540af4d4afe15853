package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHelpListsEveryFlag: pec help shows every command and every flag of
// its flag set, among them those it used to miss; the command table names
// only commands that run.
func TestHelpListsEveryFlag(t *testing.T) {
	st, out, errOut := runTool("help")
	if st != 0 || errOut != "" {
		t.Fatalf("help: status %d, stderr %q", st, errOut)
	}
	for _, c := range commands {
		if !strings.Contains(out, "\npec "+c.name+" ") && !strings.Contains(out, "\npec "+c.name+"\n") {
			t.Errorf("help does not show %q", c.name)
		}
		n := 0
		helpFlags(c.name).VisitAll(func(f *flag.Flag) {
			n++
			dash := "--"
			if len(f.Name) == 1 {
				dash = "-"
			}
			if !strings.Contains(out, "    "+dash+f.Name+"\n") && !strings.Contains(out, "    "+dash+f.Name+" ") {
				t.Errorf("%s: flag %s%s missing from help", c.name, dash, f.Name)
			}
		})
		if n == 0 {
			t.Errorf("%s: no flags found", c.name)
		}
		// Every command of the table runs, and answers --help.
		if _, err := dispatch(append(strings.Fields(c.name), "--help"), io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%s --help: %v, want a help request", c.name, err)
		}
	}
	for _, f := range []string{"--index-ca", "--tls-ca", "--auth", "--from", "--timeout", "--mailbox", "--poll", "--progress", "--require-sealed", "--integrity-only", "--at-signing-time"} {
		if !strings.Contains(out, "    "+f) {
			t.Errorf("help misses %s", f)
		}
	}
}

// TestHelpExitsZero: --help, -h and help COMMAND print the command's help
// on stdout and exit 0.
func TestHelpExitsZero(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--help"}, "pec fetch [flags]"},
		{[]string{"-h"}, "pec send [flags]"},
		{[]string{"verify", "--help"}, "--integrity-only"},
		{[]string{"verify", "a.eml", "-h"}, "--integrity-only"},
		{[]string{"inspect", "-help"}, "--json"},
		{[]string{"index", "lookup", "--help"}, "pec index lookup [flags] DOMAIN"},
		{[]string{"index", "--help"}, "pec index dump"},
		{[]string{"trace", "query", "--help"}, "--client-msgid"},
		{[]string{"trace", "help"}, "--require-sealed"},
		{[]string{"send", "--help"}, "--tls-ca"},
		{[]string{"fetch", "--help"}, "--poll"},
		{[]string{"status", "--help"}, "--store"},
		{[]string{"demo", "--help"}, "-o"},
		{[]string{"help", "fetch"}, "--mailbox"},
		{[]string{"help", "trace"}, "pec trace reissue"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			st, out, errOut := runTool(tc.args...)
			if st != 0 || !strings.Contains(out, tc.want) {
				t.Errorf("status %d, stdout without %q:\n%s%s", st, tc.want, out, errOut)
			}
		})
	}
	if st, _, errOut := runTool("help", "frobnicate"); st != 2 || !strings.Contains(errOut, "frobnicate") {
		t.Errorf("help of an unknown command: %d %q", st, errOut)
	}
}

// TestFlagsAfterFiles: flags may follow the file names; after "--" every
// argument is a file.
func TestFlagsAfterFiles(t *testing.T) {
	dir, files := writeSampleDir(t)
	ldif := filepath.Join(dir, "index.ldif")
	st, out, errOut := runTool("verify", files[0].path, files[1].path, "--ldif", ldif)
	if st != 0 || strings.Count(out, ": OK ") != 2 {
		t.Errorf("verify FILES --ldif: status %d\n%s%s", st, out, errOut)
	}
	st, out, _ = runTool("inspect", files[0].path, "--json")
	if st != 0 || !strings.HasPrefix(out, "{") {
		t.Errorf("inspect FILE --json: status %d\n%s", st, out)
	}
	st, out, _ = runTool("verify", "--integrity-only", "--", "--ldif")
	if st != 1 || !strings.Contains(out, "--ldif: FAIL") {
		t.Errorf("verify -- --ldif: status %d, want the file --ldif to fail\n%s", st, out)
	}
}

// TestErrorsNameTheFile: a file that is not a PEC message is reported
// against its name, with "pec:" said once.
func TestErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.eml")
	if err := os.WriteFile(plain, []byte("From: a@b.example\r\nSubject: hi\r\n\r\nhello\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"verify", plain}, {"inspect", plain}, {"verify", filepath.Join(dir, "absent.eml")}} {
		st, out, errOut := runTool(args...)
		all := out + errOut
		if st != 1 || !strings.Contains(all, filepath.Base(args[1])+": ") || strings.Contains(all, "pec: pec:") {
			t.Errorf("%v: status %d\n%s", args, st, all)
		}
	}
	if _, _, errOut := runTool("index", "lookup", "--ldif", plain, "x.example"); strings.Contains(errOut, "pec: pec:") {
		t.Errorf("doubled prefix: %s", errOut)
	}
	st, _, errOut := runTool("extract", "-o", t.TempDir(), plain)
	if st != 2 || !strings.HasPrefix(errOut, "pec: "+plain+": ") || strings.Count(errOut, "pec:") != 1 || strings.Count(errOut, "\n") != 1 {
		t.Errorf("extract of a plain message: %d %q, want one line naming the file, pec: once", st, errOut)
	}
}

// TestDirectoryArgument: a directory stands for its .eml files, in order;
// the progress line goes to stderr only when asked (stderr is no
// terminal here).
func TestDirectoryArgument(t *testing.T) {
	dir, files := writeSampleDir(t)
	ldif := filepath.Join(dir, "index.ldif")
	sub := filepath.Join(dir, "more")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(files[0].path)
	if err := os.WriteFile(filepath.Join(sub, "copy.EML"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	want := len(files) + 1
	st, out, errOut := runTool("verify", "--ldif", ldif, dir)
	if st != 0 || strings.Count(out, ": OK ") != want || errOut != "" {
		t.Errorf("verify DIR: status %d, want %d OK and a quiet stderr\n%s%s", st, want, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != want || !strings.HasPrefix(lines[0], files[0].path+": ") {
		t.Errorf("verify DIR: files not in order:\n%s", out)
	}
	st, _, errOut = runTool("verify", "--ldif", ldif, "--progress", "always", dir)
	if st != 0 || !strings.Contains(errOut, "verifying 15/15") {
		t.Errorf("--progress always: status %d, stderr %q", st, errOut)
	}
	st, out, errOut = runTool("inspect", "--json", "--progress", "never", sub)
	if st != 0 || strings.Count(out, "\n") != 1 || errOut != "" {
		t.Errorf("inspect DIR: status %d\n%s%s", st, out, errOut)
	}
	if st, _, errOut := runTool("verify", "--progress", "sometimes", dir); st != 2 || !strings.Contains(errOut, "--progress") {
		t.Errorf("bad --progress: %d %q", st, errOut)
	}
	empty := t.TempDir()
	if st, _, errOut := runTool("verify", empty); st != 2 || !strings.Contains(errOut, empty) {
		t.Errorf("empty directory: %d %q", st, errOut)
	}
}

// TestDemoFolder: the demo says its folder is temporary, and removes it;
// with -o it keeps the folder it names.
func TestDemoFolder(t *testing.T) {
	keep := filepath.Join(t.TempDir(), "demo")
	st, out, errOut := runTool("demo", "-o", keep)
	if st != 0 || !strings.Contains(out, "kinds to "+keep+"\n") {
		t.Fatalf("demo -o: status %d\n%s%s", st, out, errOut)
	}
	if emls, _ := filepath.Glob(filepath.Join(keep, "*.eml")); len(emls) != 14 {
		t.Errorf("demo -o kept %d messages, want 14", len(emls))
	}
	st, out, _ = runTool("demo")
	i := strings.Index(out, "the temporary folder ")
	if st != 0 || i < 0 || !strings.Contains(out, "removed") {
		t.Fatalf("demo: status %d, does not say its folder is temporary\n%s", st, out)
	}
	tmp := strings.Fields(out[i+len("the temporary folder "):])[0]
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("temporary folder %s left behind: %v", tmp, err)
	}
}

// TestExtractSeveral: several files are extracted each into a folder of
// -o named after it; one that fails is named, and the others are still
// extracted.
func TestExtractSeveral(t *testing.T) {
	_, files := writeSampleDir(t)
	out := t.TempDir()
	bad := filepath.Join(t.TempDir(), "absent.eml")
	st, stdout, errOut := runTool("extract", files[0].path, bad, files[2].path, "-o", out)
	if st != 2 || !strings.Contains(errOut, bad) || strings.Count(errOut, bad) != 1 || strings.Contains(errOut, "pec: pec:") {
		t.Errorf("status %d, stderr %q: want 2 naming %s once", st, errOut, bad)
	}
	for _, f := range []sampleFile{files[0], files[2]} {
		sub := strings.TrimSuffix(filepath.Base(f.path), ".eml")
		if _, err := os.Stat(filepath.Join(out, sub, "daticert.xml")); err != nil {
			t.Errorf("%s: %v\n%s", f.path, err, stdout)
		}
	}
	// One file: straight into -o, as before.
	one := t.TempDir()
	if st, _, errOut := runTool("extract", "-o", one, files[0].path); st != 0 {
		t.Fatalf("one file: %d %s", st, errOut)
	}
	if _, err := os.Stat(filepath.Join(one, "daticert.xml")); err != nil {
		t.Error(err)
	}
}
