package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// corpusKinds maps the MANIFEST.tsv kind column to the kinds inspect may
// report for it.
var corpusKinds = map[string][]string{
	"envelope":          {"transport"},
	"accettazione":      {"acceptance"},
	"avvenuta-consegna": {"delivery", "delivery-short", "delivery-summary"},
	"errore-consegna":   {"delivery-error"},
}

// TestInspectCorpus: on real provider messages, inspect names the kind the
// manifest records, and its intact verdict agrees with openssl's.
func TestInspectCorpus(t *testing.T) {
	corpus := needShared(t, sharedCorpus)
	openssl := needTool(t, "openssl")
	manifest, err := os.ReadFile(filepath.Join(corpus, "MANIFEST.tsv"))
	if err != nil {
		t.Fatalf("MANIFEST.tsv: %v", err)
	}
	lines := strings.Split(strings.TrimRight(string(manifest), "\r\n"), "\n")
	head := strings.Split(strings.TrimRight(lines[0], "\r"), "\t")
	fileCol, kindCol := slices.Index(head, "file"), slices.Index(head, "kind")
	if fileCol < 0 || kindCol < 0 {
		t.Fatalf("MANIFEST.tsv header %q has no file or kind column", head)
	}
	kinds := map[string]string{}
	for _, l := range lines[1:] {
		cols := strings.Split(strings.TrimRight(l, "\r"), "\t")
		if len(cols) > max(fileCol, kindCol) {
			kinds[cols[fileCol]] = cols[kindCol]
		}
	}
	files, err := filepath.Glob(filepath.Join(corpus, "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no .eml in %s: %v", corpus, err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			col, ok := kinds[name]
			if !ok {
				t.Fatalf("%s is not in MANIFEST.tsv", name)
			}
			allowed, ok := corpusKinds[col]
			if !ok {
				t.Fatalf("MANIFEST.tsv kind %q has no expected kind", col)
			}
			obj := inspectJSON(t, f)
			if kind := jsonString(t, "kind", obj["kind"]); !slices.Contains(allowed, kind) {
				t.Errorf("kind %q, manifest says %s (one of %q)", kind, col, allowed)
			}
			var sig struct {
				Intact   *bool    `json:"intact"`
				Problems []string `json:"problems"`
			}
			if err := json.Unmarshal(obj["signature"], &sig); err != nil || sig.Intact == nil {
				t.Fatalf("signature.intact missing: %s (%v)", obj["signature"], err)
			}
			cmd := exec.Command(openssl, "smime", "-verify", "-noverify", "-in", f, "-out", os.DevNull)
			b, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				t.Fatalf("openssl: %v", err)
			}
			if ok := err == nil; *sig.Intact != ok {
				t.Errorf("signature.intact = %v (problems %q), openssl smime -verify -noverify succeeds = %v\n%s", *sig.Intact, sig.Problems, ok, b)
			}
		})
	}
}
