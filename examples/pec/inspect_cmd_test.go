package main

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pecsdk/pec/pec"
)

// inspectJSON runs "pec inspect --json" on one file and returns its one
// JSON object.
func inspectJSON(t *testing.T, args ...string) map[string]json.RawMessage {
	t.Helper()
	st, stdout, stderr := runTool(append([]string{"inspect", "--json"}, args...)...)
	if st != 0 {
		t.Fatalf("pec inspect --json %v: status %d\n%s%s", args, st, stdout, stderr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil {
		t.Fatalf("inspect output is not a JSON object: %v\n%s", err, stdout)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		t.Fatalf("inspect printed more than one JSON value (next: %s, %v)", extra, err)
	}
	return obj
}

// object decodes a JSON object and checks that its keys are exactly want.
func object(t *testing.T, what string, raw json.RawMessage, want ...string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		t.Fatalf("%s is not a JSON object: %s (%v)", what, raw, err)
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	sort.Strings(got)
	want = slices.Clone(want)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s keys:\n got %q\nwant %q", what, got, want)
	}
	return m
}

func jsonString(t *testing.T, what string, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Errorf("%s is not a string: %s", what, raw)
	}
	return s
}

// jsonStringOrNull returns the string, or "" and false for null.
func jsonStringOrNull(t *testing.T, what string, raw json.RawMessage) (string, bool) {
	t.Helper()
	if string(raw) == "null" {
		return "", false
	}
	return jsonString(t, what, raw), true
}

func jsonBool(t *testing.T, what string, raw json.RawMessage) bool {
	t.Helper()
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Errorf("%s is not a boolean: %s", what, raw)
	}
	return b
}

var (
	dayRE  = regexp.MustCompile(`^[0-3][0-9]/[01][0-9]/[0-9]{4}$`)
	timeRE = regexp.MustCompile(`^[0-2][0-9]:[0-5][0-9]:[0-5][0-9]$`)
	zoneRE = regexp.MustCompile(`^[+-][0-9]{4}$`)
)

// checkDaticertJSON checks the daticert object of inspect --json against
// the certification data model, and returns its identificativo.
func checkDaticertJSON(t *testing.T, raw json.RawMessage, k pec.Kind) string {
	t.Helper()
	d := object(t, "daticert", raw, "tipo", "errore", "mittente", "destinatari", "risposte",
		"oggetto", "gestore-emittente", "data", "identificativo", "msgid", "ricevuta",
		"consegna", "ricezione", "errore-esteso")
	if tipo := jsonString(t, "daticert.tipo", d["tipo"]); tipo != string(k.CertType()) {
		t.Errorf("daticert.tipo = %q, want %q", tipo, k.CertType())
	}
	errore := jsonString(t, "daticert.errore", d["errore"])
	if want := k.ErrorCode(); want != "" && errore != string(want) {
		t.Errorf("daticert.errore = %q, want %q", errore, want)
	}
	if _, err := pec.ParseErrorCode(errore); err != nil {
		t.Errorf("daticert.errore = %q: %v", errore, err)
	}
	for _, key := range []string{"mittente", "risposte", "oggetto", "gestore-emittente"} {
		jsonString(t, "daticert."+key, d[key])
	}
	var dest []json.RawMessage
	if err := json.Unmarshal(d["destinatari"], &dest); err != nil || dest == nil {
		t.Errorf("daticert.destinatari is not a list: %s", d["destinatari"])
	}
	if len(dest) == 0 {
		t.Errorf("daticert.destinatari is empty")
	}
	for i, r := range dest {
		what := fmt.Sprintf("daticert.destinatari[%d]", i)
		x := object(t, what, r, "tipo", "indirizzo")
		if _, err := pec.ParseRecipientType(jsonString(t, what+".tipo", x["tipo"])); err != nil {
			t.Errorf("%s.tipo: %v", what, err)
		}
		if a := jsonString(t, what+".indirizzo", x["indirizzo"]); !strings.Contains(a, "@") {
			t.Errorf("%s.indirizzo = %q", what, a)
		}
	}
	data := object(t, "daticert.data", d["data"], "zona", "giorno", "ora")
	for key, re := range map[string]*regexp.Regexp{"zona": zoneRE, "giorno": dayRE, "ora": timeRE} {
		if v := jsonString(t, "daticert.data."+key, data[key]); !re.MatchString(v) {
			t.Errorf("daticert.data.%s = %q, want %s", key, v, re)
		}
	}
	id := jsonString(t, "daticert.identificativo", d["identificativo"])
	if id == "" {
		t.Errorf("daticert.identificativo is empty")
	}
	for _, key := range []string{"msgid", "ricevuta", "consegna", "errore-esteso"} {
		jsonStringOrNull(t, "daticert."+key, d[key])
	}
	var ricezione []string
	if err := json.Unmarshal(d["ricezione"], &ricezione); err != nil || ricezione == nil {
		t.Errorf("daticert.ricezione is not a list of strings: %s", d["ricezione"])
	}
	return id
}

// checkSignatureJSON checks the signature object of inspect --json for a
// sample: present, intact, signed by the From address, and trusted as wanted.
func checkSignatureJSON(t *testing.T, raw json.RawMessage, from string, trusted *bool) {
	t.Helper()
	var s map[string]json.RawMessage
	if err := json.Unmarshal(raw, &s); err != nil || s == nil {
		t.Fatalf("signature is not an object: %s", raw)
	}
	for _, key := range []string{"present", "intact", "algorithm", "signer", "trusted", "problems"} {
		if _, ok := s[key]; !ok {
			t.Errorf("signature has no %q: %s", key, raw)
		}
	}
	if !jsonBool(t, "signature.present", s["present"]) {
		t.Errorf("signature.present is false")
	}
	if !jsonBool(t, "signature.intact", s["intact"]) {
		t.Errorf("signature.intact is false: %s", raw)
	}
	if a := jsonString(t, "signature.algorithm", s["algorithm"]); a == "" {
		t.Errorf("signature.algorithm is empty")
	}
	var signer map[string]json.RawMessage
	if err := json.Unmarshal(s["signer"], &signer); err != nil || signer == nil {
		t.Errorf("signature.signer is not an object: %s", s["signer"])
	} else if e := jsonString(t, "signature.signer.email", signer["email"]); !strings.EqualFold(e, from) {
		t.Errorf("signature.signer.email = %q, From is %q", e, from)
	}
	switch {
	case trusted == nil && string(s["trusted"]) != "null":
		t.Errorf("signature.trusted = %s without --ca, want null", s["trusted"])
	case trusted != nil && string(s["trusted"]) != strconv.FormatBool(*trusted):
		t.Errorf("signature.trusted = %s, want %v", s["trusted"], *trusted)
	}
	var problems []string
	if err := json.Unmarshal(s["problems"], &problems); err != nil || problems == nil {
		t.Errorf("signature.problems is not a list of strings: %s", s["problems"])
	} else if len(problems) != 0 {
		t.Errorf("signature.problems of a good sample: %q", problems)
	}
}
