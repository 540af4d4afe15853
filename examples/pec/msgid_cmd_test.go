package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec"
)

// idKeys are the JSON keys whose values are message identifiers, in the
// output of every command.
var idKeys = map[string]bool{
	"message_id": true, "pec_id": true, "identificativo": true, "msgid": true,
	"client_msgid": true, "Message-ID": true, pec.HeaderReference: true,
}

// identifiers collects the string values under idKeys anywhere in a JSON
// value, by their path.
func identifiers(t *testing.T, raw []byte) map[string]string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && idKeys[k] {
					out[path+"."+k] = s
					continue
				}
				walk(path+"."+k, e)
			}
		case []any:
			for i, e := range x {
				walk(path+"["+strconv.Itoa(i)+"]", e)
			}
		}
	}
	walk("", v)
	return out
}

// TestIdentifierConvention: the JSON of inspect and status writes every
// message identifier as the library gives and takes it, without angle
// brackets (see the client package documentation, "Identifiers").
func TestIdentifierConvention(t *testing.T) {
	check := func(t *testing.T, ids map[string]string, want ...string) {
		t.Helper()
		for _, k := range want {
			found := false
			for path := range ids {
				found = found || strings.HasSuffix(path, "."+k)
			}
			if !found {
				t.Errorf("no %s among the identifiers %q", k, ids)
			}
		}
		for path, id := range ids {
			if id != pec.NormalizeMsgID(id) || strings.ContainsAny(id, "<>") {
				t.Errorf("%s = %q: identifiers are written without angle brackets", path, id)
			}
		}
	}
	t.Run("inspect", func(t *testing.T) {
		_, files := writeSampleDir(t)
		for _, f := range files {
			if f.kind == pec.KindAnomaly {
				continue // no certification data
			}
			st, out, errs := runTool("inspect", "--json", f.path)
			if st != 0 {
				t.Fatalf("%s: status %d\n%s", f.path, st, errs)
			}
			want := []string{"Message-ID", "identificativo", "msgid"}
			if f.kind.IsEnvelope() || f.kind == pec.KindDelivery {
				want = append(want, "message_id") // the original's
			}
			check(t, identifiers(t, []byte(out)), want...)
		}
	})
	t.Run("status", func(t *testing.T) {
		dir := statusStore(t)
		statusClock(t, time.Date(2026, 9, 14, 12, 0, 0, 0, pec.Location))
		st, out, errs := runTool("status", "--json", "--store", dir)
		if st != 0 {
			t.Fatalf("status %d: %s", st, errs)
		}
		check(t, identifiers(t, []byte(out)), "message_id", "pec_id")
	})
}
