package trace_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/tracetest"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(r *trace.Record)
		field string // "" when valid
	}{
		{"Fixture", func(r *trace.Record) {}, ""},
		{"OnlyClientMsgID", func(r *trace.Record) { r.MsgID = "" }, ""},
		{"NoPoint", func(r *trace.Record) { r.Point = "" }, ""},
		{"NoKind", func(r *trace.Record) { r.Kind = pec.KindUnknown }, ""},
		{"NoTime", func(r *trace.Record) { r.Time = time.Time{} }, "Time"},
		{"TimeTooLate", func(r *trace.Record) { r.Time = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }, "Time"},
		{"TimeTooEarly", func(r *trace.Record) { r.Time = time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC) }, "Time"},
		{"Event", func(r *trace.Record) { r.Event = "consegna" }, "Event"},
		{"Point", func(r *trace.Record) { r.Point = "ap" }, "Point"},
		{"Kind", func(r *trace.Record) { r.Kind = -1 }, "Kind"},
		{"NoIDs", func(r *trace.Record) { r.MsgID, r.ClientMsgID = "", "" }, "MsgID"},
		{"MessageHash", func(r *trace.Record) { r.Message, r.MessageHash = []byte("a"), trace.Hash{1} }, "MessageHash"},
		{"Provider", func(r *trace.Record) { r.Provider = "\xc3" }, "Provider"},
		{"MessageRef", func(r *trace.Record) { r.MessageRef = "\xff" }, "MessageRef"},
		{"ZoneEast18h", func(r *trace.Record) { r.Time = r.Time.In(time.FixedZone("", 18*3600)) }, ""},
		{"ZoneWest18h", func(r *trace.Record) { r.Time = r.Time.In(time.FixedZone("", -18*3600)) }, ""},
		{"ZoneEast19h", func(r *trace.Record) { r.Time = r.Time.In(time.FixedZone("X", 19*3600)) }, "Time"},
		{"ZoneWestPast18h", func(r *trace.Record) { r.Time = r.Time.In(time.FixedZone("", -18*3600-1)) }, "Time"},
		{"RecipientEmpty", func(r *trace.Record) { r.Recipients[0].Address = " <> " }, "Recipients"},
		{"RecipientUTF8", func(r *trace.Record) { r.Recipients[0].Address = "a\xff@b" }, "Recipients"},
		{"RecipientTypeUTF8", func(r *trace.Record) { r.Recipients[0].Type = "\xff" }, "Recipients"},
		{"GeneratedEmpty", func(r *trace.Record) { r.Message, r.Generated = nil, []string{"a@b", ""} }, "Generated"},
		{"GeneratedUTF8", func(r *trace.Record) { r.Message, r.Generated = nil, []string{"\xffa@b"} }, "Generated"},
		{"GeneratedSeveralNoMessage", func(r *trace.Record) { r.Message, r.Generated = nil, []string{"a@b", "c@d"} }, ""},
		{"GeneratedSeveralWithMessage", func(r *trace.Record) { r.Generated = append(r.Generated, "other@pec.mittente.it") }, "Generated"},
		{"GeneratedSeveralWithRef", func(r *trace.Record) {
			r.Message, r.MessageRef, r.Generated = nil, "blob/1", append(r.Generated, "other@pec.mittente.it")
		}, "Generated"},
		{"GeneratedNoneWithMessage", func(r *trace.Record) { r.Generated = nil }, "Generated"},
		{"MessageOfAnother", func(r *trace.Record) { r.Generated = []string{"other@pec.mittente.it"} }, "Message"},
		{"MessageIDCaseOfDomain", func(r *trace.Record) {
			r.Generated[0] = "<" + strings.Replace(r.Generated[0], "pec.mittente.it", "PEC.Mittente.IT", 1) + ">"
		}, ""},
		{"MessageIDFolded", func(r *trace.Record) {
			r.Message = []byte("Subject: x\r\nmessage-id:\r\n <" + r.Generated[0] + ">\r\n\r\nbody")
		}, ""},
		{"MessageIDFoldedOther", func(r *trace.Record) {
			r.Message = []byte("Subject: x\r\nMESSAGE-ID:\r\n\t<other@pec.mittente.it>\r\n\r\nMessage-ID: <" + r.Generated[0] + ">\r\n")
		}, "Message"},
		{"MessageIDFoldedInside", func(r *trace.Record) {
			id := r.Generated[0]
			r.Message = []byte("Message-ID: <" + id[:3] + "\r\n\t " + id[3:] + ">\r\n\r\n")
			r.Generated[0] = id[:3] + " " + id[3:]
		}, ""},
		{"MessageIDTwice", func(r *trace.Record) {
			r.Message = []byte("Message-ID: <" + r.Generated[0] + ">\nMessage-ID: <" + r.Generated[0] + ">\n\nbody")
		}, "Message"},
		{"MessageWithoutHeader", func(r *trace.Record) { r.Message = []byte("firmato") }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tracetest.NewRecord(2)
			tc.edit(r)
			err := r.Validate()
			var fe *trace.FieldError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, trace.ErrInvalid)):
				t.Fatalf("Validate: %v, want a *FieldError for %s", err, tc.field)
			case tc.field != "" && !strings.Contains(err.Error(), tc.field):
				t.Fatalf("the error %q does not name the field", err)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	r := tracetest.NewRecord(2) // a presa in carico: Reception set
	r.Reception = "Dest0@pec.destinatario.it, altro@pec.destinatario.it"
	at := r.Time
	tests := []struct {
		q    trace.Query
		want bool
	}{
		{trace.Query{}, true},
		{trace.Query{MsgID: "<" + strings.Replace(r.MsgID, "pec.mittente.it", "PEC.MITTENTE.IT", 1) + ">"}, true},
		{trace.Query{MsgID: strings.ToUpper(r.MsgID)}, false},
		{trace.Query{ClientMsgID: strings.ToLower(r.ClientMsgID)}, true}, // the domain of the fixture is mixed case
		{trace.Query{ClientMsgID: "x" + r.ClientMsgID}, false},
		{trace.Query{Address: "UTENTE0@pec.mittente.it"}, true},
		{trace.Query{Address: " <altro@PEC.destinatario.it> "}, true},
		{trace.Query{Address: "esterno0@example.com"}, true},
		{trace.Query{Address: "utente0@pec.mittente"}, false},
		{trace.Query{Since: at}, true},
		{trace.Query{Since: at.Add(1)}, false},
		{trace.Query{Until: at}, false},
		{trace.Query{Until: at.Add(1)}, true},
		{trace.Query{Since: at.UTC(), Until: at.Add(time.Hour), Address: r.Sender, MsgID: r.MsgID}, true},
	}
	for _, tc := range tests {
		if got := tc.q.Match(r); got != tc.want {
			t.Errorf("Match(%+v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	want := []string{"utente0@pec.mittente.it", "dest0@pec.destinatario.it", "esterno0@example.com", "altro@pec.destinatario.it"}
	if got := r.Addresses(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Addresses = %q, want %q", got, want)
	}
	if r.Involves("") {
		t.Error("Involves(\"\") is true")
	}
}

func TestKindEvent(t *testing.T) {
	seen := map[trace.Event]bool{}
	for _, k := range pec.Kinds {
		e := trace.KindEvent(k)
		if !e.Valid() {
			t.Errorf("KindEvent(%s) = %q", k, e)
		}
		seen[e] = true
	}
	if len(seen) != 12 { // the three delivery receipts share one
		t.Errorf("%d events for the 14 kinds, want 12", len(seen))
	}
	if trace.KindEvent(pec.KindUnknown) != "" || trace.KindEvent(99) != "" {
		t.Error("KindEvent of no kind is not empty")
	}
}

func TestClone(t *testing.T) {
	r := tracetest.NewRecord(0)
	c := r.Clone()
	c.Recipients[0].Address = "x"
	c.Generated[0] = "x"
	c.Message[0] = 'x'
	if r.Recipients[0].Address == "x" || r.Generated[0] == "x" || r.Message[0] == 'x' {
		t.Fatal("Clone shares memory with the original")
	}
}

// TestEvents: Events hands out a copy, and Event.Valid does not depend on
// it.
func TestEvents(t *testing.T) {
	all := trace.Events()
	if len(all) != 15 {
		t.Fatalf("%d events, want 15", len(all))
	}
	for i := range all {
		all[i] = "Spedizione"
	}
	for _, e := range trace.Events() {
		if e == "Spedizione" || !e.Valid() {
			t.Fatalf("changing the slice Events returned changed the events: %q", e)
		}
	}
	for _, e := range []trace.Event{"", "Spedizione", "consegna", trace.EventDelivery + " "} {
		if e.Valid() {
			t.Errorf("%q is valid", e)
		}
	}
}
