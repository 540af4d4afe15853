package trace_test

import (
	"bytes"
	"errors"
	"net/mail"
	"testing"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/trace"
)

// FuzzUnmarshalBinary: decoding never panics, what decodes encodes back to
// the very input (a record has one encoding), and that decodes to the same
// record.
func FuzzUnmarshalBinary(f *testing.F) {
	for _, r := range append(chained(12), edgeRecords()...) {
		b, _ := r.MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r trace.Record
		if err := r.UnmarshalBinary(data); err != nil {
			return
		}
		enc, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("decoded input encodes to other bytes: a record with two encodings\n in: %x\nout: %x", data, enc)
		}
		var again trace.Record
		if err := again.UnmarshalBinary(enc); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		enc2, _ := again.MarshalBinary()
		if !bytes.Equal(enc, enc2) {
			t.Fatal("decode → encode → decode → encode is not stable")
		}
		if again.ComputeHash() != r.ComputeHash() || again.Check() != r.Check() {
			t.Fatal("the hash changed across a round trip")
		}
		if !again.Time.Equal(r.Time) {
			t.Fatalf("Time %v became %v", r.Time, again.Time)
		}
	})
}

// FuzzFromMessage: any bytes as the message of an anomaly envelope (read
// from its header) never panic, a record it builds keeps them whole, and
// Validate agrees with it on the message's Message-ID.
func FuzzFromMessage(f *testing.F) {
	f.Add([]byte("Message-ID: <a@b>\r\nDate: Mon, 2 Mar 2026 10:00:00 +0100\r\nReply-To: x@y\r\nTo: a@b, c@d\r\nSubject: ANOMALIA MESSAGGIO: =?utf-8?q?caf=C3=A8?=\r\n\r\nbody"))
	f.Add([]byte("Message-ID: <a@b>\n\n"))
	f.Add([]byte("To: <>\r\nCc: ,,,\r\nMessage-ID: x\r\n\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		r, err := trace.FromMessage(pec.KindAnomaly, nil, msg)
		if err != nil {
			return
		}
		if !bytes.Equal(r.Message, msg) || len(r.Generated) != 1 || r.Generated[0] == "" || r.Kind != pec.KindAnomaly {
			t.Fatalf("record %+v", r)
		}
		// Validate reads the Message-ID of the bytes as net/mail does: a
		// message with one Message-ID is never refused as another's.
		if m, err := mail.ReadMessage(bytes.NewReader(msg)); err == nil && len(m.Header["Message-Id"]) == 1 {
			var fe *trace.FieldError
			if err := r.Validate(); errors.As(err, &fe) && fe.Field == "Message" {
				t.Fatalf("Validate refuses the record FromMessage made: %v", err)
			}
		}
		r.Line()
	})
}
