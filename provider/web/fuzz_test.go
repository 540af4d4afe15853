package web

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/client"
	"github.com/pecsdk/pec/provider/mailbox"
	"github.com/pecsdk/pec/sample"
)

// FuzzSentOf reads arbitrary bytes as a message of Sent: what it registers
// must be a message the tracker can follow, and reading it again must give
// the same.
func FuzzSentOf(f *testing.F) {
	f.Add([]byte(sample.Original))
	f.Add([]byte(sample.Ordinary))
	f.Add([]byte("From: a@b.example\r\nTo: =?utf-8?q?B=C3=B2?= <b@c.example>\r\nMessage-ID: < x@y >\r\nSubject: =?utf-8?b?w6g=?=\r\n\r\n"))
	if set, _ := sampleSetNoT(); set != nil {
		for _, m := range set.Messages {
			f.Add(m)
		}
	}
	date := time.Date(2026, 9, 14, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		sent, ok := sentOf(b, date)
		again, ok2 := sentOf(b, date)
		if ok != ok2 || !reflect.DeepEqual(sent, again) {
			t.Fatalf("two readings differ: %+v / %+v", sent, again)
		}
		describe(b, mailbox.Sent, mailbox.Message{UID: 1}, &client.Message{})
		if !ok {
			return
		}
		if sent.MessageID == "" || strings.ContainsAny(sent.MessageID, "<>") {
			t.Errorf("Message-ID %q", sent.MessageID)
		}
		if len(sent.To) == 0 || sent.From == "" {
			t.Errorf("registered without To or From: %+v", sent)
		}
		for _, a := range append(append([]string{}, sent.To...), sent.Cc...) {
			if !strings.Contains(a, "@") {
				t.Errorf("recipient %q", a)
			}
		}
		if sent.Time.IsZero() {
			t.Errorf("no time")
		}
	})
}

func sampleSetNoT() (*sample.Set, error) {
	return sample.New(time.Now().Add(-48 * time.Hour))
}
