package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/sample"
)

var updateStatus = flag.Bool("update-status", false, "rewrite testdata/status.golden")

// statusStore writes a tracker store with the sample message (Bob delivered,
// Carol external), a second message refused by the provider and a third one
// just sent, and returns its folder.
func statusStore(t *testing.T) string {
	t.Helper()
	at := time.Date(2026, 9, 14, 9, 0, 5, 0, pec.Location)
	set, err := sample.New(at)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "store") + string(filepath.Separator)
	tr, err := client.OpenTracker(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	sends := []client.Sent{
		// Given with angle brackets: identifiers come out without.
		{MessageID: "<orig-1@client.example>", From: sample.Alice, To: []string{sample.Bob}, Cc: []string{sample.Carol}, Subject: "Contratto di fornitura", Time: at.Add(-5 * time.Second)},
		{MessageID: "later@client.example", From: sample.Alice, To: []string{sample.Bob}, Subject: "Sollecito", Time: at.Add(time.Hour)},
	}
	for _, s := range sends {
		if err := tr.Register(s); err != nil {
			t.Fatal(err)
		}
	}
	// Trust is judged now: the sample certificates are issued for the
	// current time, and the golden output needs a fixed one.
	idx, err := set.Index()
	if err != nil {
		t.Fatal(err)
	}
	vopts := &smime.VerifyOptions{Roots: set.PKI.Pool(), Authority: idx}
	for _, k := range []pec.Kind{pec.KindAcceptance, pec.KindTakeInCharge, pec.KindDeliveryTimeout12h, pec.KindDeliverySummary} {
		m, err := client.Classify(bytes.NewReader(set.Messages[k]), vopts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Observe(m); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	return dir
}

// statusClock sets the clock of pec status for the test.
func statusClock(t *testing.T, at time.Time) {
	old := statusNow
	statusNow = func() time.Time { return at }
	t.Cleanup(func() { statusNow = old })
}

func TestStatusTable(t *testing.T) {
	dir := statusStore(t)
	// A day and two hours after the second message: it is overdue.
	statusClock(t, time.Date(2026, 9, 15, 12, 0, 0, 0, pec.Location))
	status, out, errOut := runTool("status", "--store", dir)
	if status != 0 {
		t.Fatalf("status %d: %s", status, errOut)
	}
	got := normaliseStatus(out, dir)
	golden := filepath.Join("testdata", "status.golden")
	if *updateStatus {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("output differs from %s (run with -update-status to rewrite):\n%s\nwant\n%s", golden, got, want)
	}
	// One message only, by Message-ID, in angle brackets.
	status, out, _ = runTool("status", "--store", dir, "<later@client.example>")
	if status != 0 || strings.Contains(out, "orig-1") || !strings.Contains(out, "submitted") {
		t.Fatalf("status %d:\n%s", status, out)
	}
}

// normaliseStatus replaces the store folder and the digests, which differ
// from run to run.
func normaliseStatus(s, dir string) string {
	s = strings.ReplaceAll(s, strings.TrimSuffix(dir, string(filepath.Separator)), "$STORE")
	return regexp.MustCompile(`[0-9a-f]{64}`).ReplaceAllString(s, "$$SHA256")
}

func TestStatusJSON(t *testing.T) {
	dir := statusStore(t)
	statusClock(t, time.Date(2026, 9, 14, 12, 0, 0, 0, pec.Location))
	status, out, errOut := runTool("status", "--json", "--store", dir)
	if status != 0 {
		t.Fatalf("status %d: %s", status, errOut)
	}
	var got []statusMessageJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(got) != 2 || got[0].MessageID != "orig-1@client.example" || got[1].MessageID != "later@client.example" {
		t.Fatalf("messages: %+v", got)
	}
	for _, m := range got {
		ids := []string{m.MessageID, m.ID}
		for _, r := range m.Recipients {
			if r.Evidence != nil {
				ids = append(ids, r.Evidence.MessageID)
			}
		}
		for _, id := range ids {
			if strings.ContainsAny(id, "<>") {
				t.Errorf("identifier %q with angle brackets: the convention is without", id)
			}
		}
	}
	first := got[0]
	if !first.Final || len(first.Recipients) != 2 {
		t.Fatalf("first message: %+v", first)
	}
	bob, carol := first.Recipients[0], first.Recipients[1]
	if bob.State != client.StateDelivered || bob.Evidence == nil || bob.Evidence.Kind != "delivery-summary" || !bob.Final {
		t.Errorf("bob: %+v", bob)
	}
	if b, err := os.ReadFile(bob.Evidence.Path); err != nil || !bytes.Contains(b, []byte("avvenuta-consegna")) {
		t.Errorf("bob's evidence %s: %v", bob.Evidence.Path, err)
	}
	if strings.Join(bob.Events, ",") != "acceptance,take-in-charge,delivery-summary,delivery-timeout-12h" {
		t.Errorf("bob's events: %v", bob.Events)
	}
	if carol.State != client.StateSentToOrdinaryMail || carol.Type != "esterno" || !carol.Copy {
		t.Errorf("carol: %+v", carol)
	}
	if got[1].Final || got[1].Recipients[0].State != client.StateSubmitted || got[1].Recipients[0].Time != nil || got[1].Recipients[0].Overdue {
		t.Errorf("second message: %+v", got[1])
	}
}

func TestStatusErrors(t *testing.T) {
	dir := statusStore(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no store", []string{"status", "--store", filepath.Join(t.TempDir(), "none") + "/"}, "no tracker store"},
		{"unknown message", []string{"status", "--store", dir, "nobody@client.example"}, "not sent through this tracker"},
		{"bad flag", []string{"status", "--nope"}, "flag provided but not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _, errOut := runTool(tc.args...)
			if status == 0 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("status %d, stderr %q, want %q", status, errOut, tc.want)
			}
		})
	}
	// An empty store prints that nothing was sent.
	empty := t.TempDir()
	tr, err := client.OpenTracker(empty, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	if status, out, _ := runTool("status", "--store", empty); status != 0 || !strings.Contains(out, "no messages sent") {
		t.Fatalf("empty store: %d %q", status, out)
	}
}

// TestStatusBesideWriter: status reads a store another tracker holds open.
func TestStatusBesideWriter(t *testing.T) {
	dir := statusStore(t)
	tr, err := client.OpenTracker(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if status, out, errOut := runTool("status", "--store", dir); status != 0 || !strings.Contains(out, "delivered") {
		t.Fatalf("status %d: %s %s", status, out, errOut)
	}
}
