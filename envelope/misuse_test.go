package envelope_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/sample"
)

// TestBuildMisuse: every inconsistent input gives a typed error, never a
// panic and never an envelope that certifies another message.
func TestBuildMisuse(t *testing.T) {
	set := fixtures(t)
	good := func() *daticert.Data {
		d := *set.Envelope
		d.Recipients = append([]daticert.Recipient(nil), d.Recipients...)
		return &d
	}
	for _, tc := range []struct {
		name   string
		data   func() *daticert.Data
		nilSig bool
		want   []error
	}{
		{"nil-signer", good, true, []error{envelope.ErrNoSigner}},
		{"nil-data", func() *daticert.Data { return nil }, false, []error{envelope.ErrBadData}},
		{"wrong-type", func() *daticert.Data { d := good(); d.Type = pec.CertAcceptance; return d }, false, []error{envelope.ErrBadData}},
		{"sender-not-from", func() *daticert.Data { d := good(); d.Sender = "mallory@pec.mittente.example"; return d }, false, []error{envelope.ErrBadData, pec.ErrInconsistent}},
		{"extra-recipient", func() *daticert.Data {
			d := good()
			d.Recipients = append(d.Recipients, daticert.Recipient{Address: "eve@pec.example.org", Type: pec.RecipientCertified})
			return d
		}, false, []error{envelope.ErrBadData, pec.ErrInconsistent}},
		{"missing-recipient", func() *daticert.Data { d := good(); d.Recipients = d.Recipients[:1]; return d }, false, []error{envelope.ErrBadData, pec.ErrInconsistent}},
		{"other-subject", func() *daticert.Data { d := good(); d.Subject = "Altro"; return d }, false, []error{envelope.ErrBadData, pec.ErrInconsistent}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := set.Sender
			if tc.nilSig {
				s = nil
			}
			var out bytes.Buffer
			err := envelope.Build(&out, strings.NewReader(sample.Original), tc.data(), s, nil)
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("error %v is not %v", err, w)
				}
			}
		})
	}
	// The untouched data builds.
	if err := envelope.Build(io.Discard, strings.NewReader(sample.Original), good(), set.Sender, nil); err != nil {
		t.Fatal(err)
	}

	// Missing arguments, to both builders.
	at := time.Now().Add(-time.Minute)
	orig := func() io.Reader { return strings.NewReader(sample.Ordinary) }
	for _, tc := range []struct {
		name  string
		build func() error
		want  []error
	}{
		{"nil-original", func() error { return envelope.Build(io.Discard, nil, good(), set.Sender, nil) }, []error{envelope.ErrNoOriginal}},
		{"zero-signer", func() error {
			return envelope.Build(io.Discard, strings.NewReader(sample.Original), good(), &smime.Signer{}, nil)
		}, []error{envelope.ErrNoSigner, smime.ErrNoCertificate}},
		{"nil-writer", func() error {
			return envelope.Build(nil, strings.NewReader(sample.Original), good(), set.Sender, nil)
		}, []error{fs.ErrInvalid}},
		{"anomaly-nil-signer", func() error { return envelope.BuildAnomaly(io.Discard, orig(), &envelope.Anomaly{Time: at}, nil) }, []error{envelope.ErrNoSigner}},
		{"anomaly-zero-signer", func() error {
			return envelope.BuildAnomaly(io.Discard, orig(), &envelope.Anomaly{Time: at}, &smime.Signer{})
		}, []error{envelope.ErrNoSigner, smime.ErrNoCertificate}},
		{"anomaly-nil", func() error { return envelope.BuildAnomaly(io.Discard, orig(), nil, set.Sender) }, []error{envelope.ErrNoTime}},
		{"anomaly-zero-time", func() error {
			return envelope.BuildAnomaly(io.Discard, orig(), &envelope.Anomaly{Reason: "x"}, set.Sender)
		}, []error{envelope.ErrNoTime}},
		{"anomaly-nil-received", func() error { return envelope.BuildAnomaly(io.Discard, nil, &envelope.Anomaly{Time: at}, set.Sender) }, []error{envelope.ErrNoOriginal}},
		{"anomaly-nil-writer", func() error { return envelope.BuildAnomaly(nil, orig(), &envelope.Anomaly{Time: at}, set.Sender) }, []error{fs.ErrInvalid}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.build()
			if err == nil {
				t.Fatal("built")
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("error %v is not %v", err, w)
				}
			}
		})
	}
	if err := envelope.BuildAnomaly(io.Discard, orig(), &envelope.Anomaly{Time: at}, set.Sender); err != nil {
		t.Fatalf("a right anomaly: %v", err)
	}
}

// TestNewData derives the certification data from the original's header:
// the envelope it gives builds and reads back with the same facts.
func TestNewData(t *testing.T) {
	set := fixtures(t)
	e, err := message.Read(strings.NewReader(sample.Original))
	if err != nil {
		t.Fatal(err)
	}
	h := mail.Header{Header: e.Header}
	at := time.Now().Add(-time.Minute)
	d, err := envelope.NewData(h, sample.SenderProvider, at, pec.NewMsgID(sample.SenderDomain, at), func(a string) bool {
		return strings.HasSuffix(a, "@"+sample.RecipientDomain) || strings.HasSuffix(a, "@"+sample.SenderDomain)
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.Sender != set.Envelope.Sender || d.Subject != set.Envelope.Subject || len(d.Recipients) != len(set.Envelope.Recipients) {
		t.Fatalf("derived %+v, the sample says %+v", d, set.Envelope)
	}
	for i, r := range d.Recipients {
		if r != set.Envelope.Recipients[i] {
			t.Errorf("recipient %d: %+v, want %+v", i, r, set.Envelope.Recipients[i])
		}
	}
	var out bytes.Buffer
	if err := envelope.Build(&out, strings.NewReader(sample.Original), d, set.Sender, nil); err != nil {
		t.Fatal(err)
	}
	env, err := envelope.Parse(bytes.NewReader(out.Bytes()), trusted(t, set))
	if err != nil || !env.OK() || env.Sender() != d.Sender {
		t.Fatalf("%v OK %v sender %q: %v", err, env != nil && env.OK(), env.Sender(), env.Problems)
	}
	// No From, no data.
	bad, _ := message.Read(strings.NewReader("To: bob@pec.destinatario.example\r\nSubject: x\r\n\r\n"))
	if _, err := envelope.NewData(mail.Header{Header: bad.Header}, "P", at, "id@x", nil); !errors.Is(err, envelope.ErrBadData) {
		t.Fatalf("no From: %v", err)
	}
}
