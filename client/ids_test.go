package client_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/sample"
)

// TestIdentifiersWithoutBrackets: identifiers are given in either form and
// always returned and stored without angle brackets: Compose, the Draft,
// the tracker's Status and its journal.
func TestIdentifiersWithoutBrackets(t *testing.T) {
	const bare = "pratica-7@client.example"
	d := &client.Draft{From: sample.Alice, To: []string{sample.Bob}, MessageID: " <" + bare + "> "}
	var msg bytes.Buffer
	id, err := client.Compose(&msg, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if id != bare || d.MessageID != bare {
		t.Errorf("Compose returned %q, draft holds %q; want %q", id, d.MessageID, bare)
	}
	if !bytes.Contains(msg.Bytes(), []byte("\r\nMessage-ID: <"+bare+">\r\n")) {
		t.Errorf("Message-ID field not <%s>:\n%s", bare, msg.Bytes())
	}

	dir := t.TempDir()
	tr, err := client.OpenTracker(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Register(client.Sent{MessageID: "<" + bare + ">", From: sample.Alice, To: []string{sample.Bob}}); err != nil {
		t.Fatal(err)
	}
	for _, ask := range []string{bare, "<" + bare + ">"} {
		st, ok := tr.Status(ask)
		if !ok || st.MessageID != bare {
			t.Errorf("Status(%q): %v %+v", ask, ok, st)
		}
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	j, err := os.ReadFile(filepath.Join(dir, "tracker.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(j), `"msgid":"`+bare+`"`) || bytes.ContainsAny(j, "<>") || bytes.Contains(j, []byte(`\u003c`)) {
		t.Errorf("journal does not hold the bare identifier:\n%s", j)
	}
}
