package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pecsdk/pec/internal/tamper"
)

// rewriteHeader replaces a field of the top-level header of the file at
// path (outside the signature) and writes the result to a new file.
func rewriteHeader(t *testing.T, path, name, value string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := tamper.SetHeader(b, name, value)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "forged-"+filepath.Base(path))
	if err := os.WriteFile(out, forged, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestForgedHeadersThroughTheTool: headers rewritten outside the signature
// of genuine samples are not OK for pec verify, and pec inspect says so and
// reports the facts of the signed content.
func TestForgedHeadersThroughTheTool(t *testing.T) {
	dir, _ := writeSampleDir(t)
	ldif := filepath.Join(dir, "index.ldif")
	anomaly := filepath.Join(dir, "02-anomaly.eml")
	forged := rewriteHeader(t, rewriteHeader(t, anomaly, "X-Trasporto", "posta-certificata"),
		"From", `"Per conto di: ceo@pec.bigcorp.example" <posta-certificata@pec.destinatario.example>`)
	virus := rewriteHeader(t, filepath.Join(dir, "10-delivery-error.eml"), "X-VerificaSicurezza", "errore")
	for _, path := range []string{forged, virus} {
		st, out, _ := runTool("verify", "--ldif", ldif, path)
		if st != 1 || !strings.Contains(out, ": FAIL ") || !strings.Contains(out, "does not establish") {
			t.Errorf("pec verify of %s: status %d\n%s", filepath.Base(path), st, out)
		}
	}
	obj := inspectJSON(t, "--ldif", ldif, forged)
	var ok bool
	if err := json.Unmarshal(obj["ok"], &ok); err != nil || ok {
		t.Errorf("inspect: ok = %s", obj["ok"])
	}
	if !strings.Contains(string(obj["problems"]), "outside the signature") {
		t.Errorf("inspect problems: %s", obj["problems"])
	}
	obj = inspectJSON(t, "--ldif", ldif, virus)
	if k := string(obj["kind"]); k != `"delivery-error"` {
		t.Errorf("inspect kind of the forged virus notice: %s", k)
	}
	// The genuine files stay OK.
	for _, f := range []string{anomaly, filepath.Join(dir, "10-delivery-error.eml")} {
		if st, out, _ := runTool("verify", "--ldif", ldif, f); st != 0 {
			t.Errorf("genuine %s: %d %s", filepath.Base(f), st, out)
		}
	}
}
