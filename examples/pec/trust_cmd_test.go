package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/sample"
)

// TestUnsignedFactsThroughTheTool: a genuine transport envelope whose
// unsigned headers are rewritten — the sender its From names, its
// subject, or its From removed — fails pec verify, and the genuine file
// still passes.
func TestUnsignedFactsThroughTheTool(t *testing.T) {
	dir, _ := writeSampleDir(t)
	ldif := filepath.Join(dir, "index.ldif")
	genuine := filepath.Join(dir, "01-transport.eml")
	if st, out, _ := runTool("verify", "--ldif", ldif, genuine); st != 0 {
		t.Fatalf("genuine: %d %s", st, out)
	}
	for name, forged := range map[string]string{
		"on-behalf-of-another": rewriteHeader(t, genuine, "From", `"Per conto di: ceo@pec.bigcorp.example" <posta-certificata@pec.mittente.example>`),
		"subject":              rewriteHeader(t, genuine, "Subject", pec.SubjectTransport+"Pagamento immediato"),
		"no-from":              rewriteHeader(t, genuine, "From", ""),
	} {
		st, out, _ := runTool("verify", "--ldif", ldif, forged)
		if st != 1 || !strings.Contains(out, ": FAIL ") {
			t.Errorf("%s: pec verify status %d\n%s", name, st, out)
		}
	}
}

// TestFutureSigningTimeThroughTheTool: messages signed a year from now,
// by certificates not valid yet, listed in their own index, are not
// trusted by pec verify, judged now or as of their signing time.
func TestFutureSigningTimeThroughTheTool(t *testing.T) {
	set, err := sample.New(time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ldif, err := set.IndexLDIF()
	if err != nil {
		t.Fatal(err)
	}
	idx := filepath.Join(dir, "index.ldif")
	msg := filepath.Join(dir, "delivery.eml")
	if err := os.WriteFile(idx, ldif, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(msg, set.Messages[pec.KindDelivery], 0o600); err != nil {
		t.Fatal(err)
	}
	for _, extra := range [][]string{nil, {"--at-signing-time"}} {
		args := append(append([]string{"verify", "--ldif", idx}, extra...), msg)
		st, out, _ := runTool(args...)
		if st != 1 || !strings.Contains(out, ": FAIL ") {
			t.Errorf("pec %s: status %d\n%s", strings.Join(args, " "), st, out)
		}
		if !strings.Contains(out, "future-signing-time") {
			t.Errorf("pec %s does not say the signing time is in the future:\n%s", strings.Join(args, " "), out)
		}
	}
}
