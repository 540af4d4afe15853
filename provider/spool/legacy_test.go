package spool

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestFirstFormat opens a spool of the first format, a file per step and
// per retry: its items are pending with their steps and retries, an
// output is read from its file, a new step goes to the item's log, and
// Complete removes both kinds of files.
func TestFirstFormat(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	at := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	write := func(name string, kind byte, hdr []byte, body string) {
		t.Helper()
		var b bytes.Buffer
		if _, err := writeFrame(&b, kind, hdr, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), fileMode); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, markerName), []byte(markerV1), fileMode)
	ih, _ := itemHeader(&Item{ID: "q1", Role: RoleAccess, To: []string{"b@pec.example.org"}, Received: at})
	write("q1.msg", kindItem, ih, "the body")
	sh, _ := json.Marshal(diskStep{ID: "q1", Step: "acceptance", Time: at})
	write("q1."+stepKey("acceptance")+stepSuffix, kindStep, sh, "the receipt")
	rh, _ := json.Marshal(diskRetry{ID: "q1", Step: "relay", Attempts: 2, Next: at, Cause: "451"})
	write("q1."+stepKey("relay")+retrySuf, kindRetry, rh, "")

	d, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if len(d.Damaged()) != 0 {
		t.Fatalf("damaged: %v", d.Damaged())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, markerName)); string(b) != markerText {
		t.Fatalf("marker %q after Open, want %q", b, markerText)
	}
	st, err := d.Get(ctx, "q1")
	if err != nil || !slices.Equal(st.Steps, []string{"acceptance"}) || len(st.Retries) != 1 || st.Retries[0].Attempts != 2 {
		t.Fatalf("Get: %+v, %v", st, err)
	}
	rc, err := d.Output(ctx, "q1", "acceptance")
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(out) != "the receipt" {
		t.Fatalf("Output: %q, %v", out, err)
	}
	if n, err := d.Retry(ctx, "q1", "relay", at, "451 again"); n != 3 || err != nil {
		t.Fatalf("Retry: %d, %v", n, err)
	}
	if err := d.Done(ctx, "q1", "relay", strings.NewReader("sent")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "q1.log")); err != nil {
		t.Fatalf("the new step not in the item's log: %v", err)
	}
	if err := d.Complete(ctx, "q1"); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != markerName && e.Name() != lockName {
			t.Errorf("left after Complete: %s", e.Name())
		}
	}
}
