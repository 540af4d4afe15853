package envelope_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/internal/tamper"
	"github.com/pecsdk/pec/pec"
)

// These tests forge envelopes as an attacker would: starting from a
// genuine, provider-signed message (an anomaly envelope is had by sending
// ordinary mail to one's own PEC mailbox) and rewriting what lies outside
// the signature. No legal fact may follow the unsigned header.

// setHeader rewrites a field of msg's top-level header, outside the
// signature (tamper.SetHeader).
func setHeader(tb testing.TB, msg []byte, name, value string) []byte {
	tb.Helper()
	out, err := tamper.SetHeader(msg, name, value)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestForgedAnomalyAsTransport(t *testing.T) {
	set := fixtures(t)
	genuine := set.Messages[pec.KindAnomaly]
	e, err := envelope.Parse(bytes.NewReader(genuine), trusted(t, set))
	if err != nil || !e.OK() || e.Kind != pec.KindAnomaly {
		t.Fatalf("the genuine anomaly envelope: %v, OK %v, problems %v", err, e != nil && e.OK(), e.Problems)
	}
	if e.Sender() != "" || e.ClaimedSender() != "mario@posta.example" {
		t.Fatalf("genuine anomaly: Sender %q (nobody certified one), ClaimedSender %q", e.Sender(), e.ClaimedSender())
	}
	forged := setHeader(t, genuine, pec.HeaderTransport, string(pec.TransportCertified))
	forged = setHeader(t, forged, "From", `"Per conto di: ceo@pec.bigcorp.example" <posta-certificata@pec.destinatario.example>`)
	e, err = envelope.Parse(bytes.NewReader(forged), trusted(t, set))
	if err != nil {
		t.Fatal(err)
	}
	if !e.Signature.OK() {
		t.Fatalf("the signature itself is untouched and should verify: %v", e.Signature.Problems)
	}
	if e.OK() {
		t.Fatal("a rewritten X-Trasporto made an anomaly envelope read as a certified transport envelope")
	}
	if !errors.Is(e.Err(), pec.ErrUnsignedClaim) {
		t.Errorf("problems %v lack %v", e.Problems, pec.ErrUnsignedClaim)
	}
	if got := e.Sender(); got != "" {
		t.Errorf("Sender() = %q: it followed an unsigned header; nothing signed names a sender", got)
	}
	if got := e.ClaimedSender(); got != "ceo@pec.bigcorp.example" {
		t.Errorf("ClaimedSender() = %q", got)
	}
	if e.Subject() != "Offerta" {
		t.Errorf("Subject() = %q, from the signed original", e.Subject())
	}
}

func TestForgedTransportHeaders(t *testing.T) {
	set := fixtures(t)
	genuine := set.Messages[pec.KindTransport]
	for _, tc := range []struct {
		name  string
		forge func([]byte) []byte
	}{
		{"transport-as-anomaly", func(b []byte) []byte { return setHeader(t, b, pec.HeaderTransport, string(pec.TransportError)) }},
		{"transport-as-receipt", func(b []byte) []byte {
			return setHeader(t, setHeader(t, b, pec.HeaderTransport, ""), pec.HeaderReceipt, string(pec.NoticeDelivery))
		}},
		{"display-name-sender", func(b []byte) []byte {
			return setHeader(t, b, "From", `"Per conto di: ceo@pec.bigcorp.example" <posta-certificata@pec.mittente.example>`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := envelope.Parse(bytes.NewReader(tc.forge(genuine)), trusted(t, set))
			if errors.Is(err, envelope.ErrNotEnvelope) {
				return // the signed daticert says transport: not an envelope of the claimed kind is also fine
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.Kind != pec.KindTransport {
				t.Errorf("kind %s: the signed daticert says transport", e.Kind)
			}
			if e.Sender() != e.Data.Sender {
				t.Errorf("Sender() = %q, daticert mittente %q", e.Sender(), e.Data.Sender)
			}
			if e.OK() {
				t.Errorf("OK with a header the signed content contradicts: %v", e.Problems)
			}
		})
	}
}

// TestFromFailsClosed removes or garbles the From field of a genuine
// envelope: with no address to match the signer against, it is not OK.
func TestFromFailsClosed(t *testing.T) {
	set := fixtures(t)
	genuine := set.Messages[pec.KindTransport]
	for name, from := range map[string]string{
		"absent":               "",
		"unknown-charset-word": "=?x-unknown?Q?Posta?= posta-certificata@pec.altro.example",
		"unterminated-comment": "posta-certificata@pec.altro.example (Posta",
		"trailing-dot":         "posta-certificata@pec.altro.example.",
		"two-addresses":        "posta-certificata@pec.mittente.example, posta-certificata@pec.altro.example",
		"group":                "provider: ;",
		"other-provider-angle": "=?x-unknown?Q?Posta?= <posta-certificata@pec.altro.example>",
	} {
		t.Run(name, func(t *testing.T) {
			e, err := envelope.Parse(bytes.NewReader(setHeader(t, genuine, "From", from)), trusted(t, set))
			if err != nil {
				t.Fatal(err)
			}
			if e.OK() || e.Signature.OK() {
				t.Fatalf("OK with From %q: %v", from, e.Signature.Problems)
			}
			if e.Signature.FromMatches == nil || *e.Signature.FromMatches {
				t.Fatalf("FromMatches %v with From %q", e.Signature.FromMatches, from)
			}
		})
	}
	// The tolerated form real receipts use still matches.
	e, err := envelope.Parse(bytes.NewReader(setHeader(t, genuine, "From", "posta-certificata@pec.mittente.example <posta-certificata@pec.mittente.example>")), trusted(t, set))
	if err != nil || !e.OK() {
		t.Fatalf("unquoted display name with @: %v %v", err, e.Signature.Problems)
	}
}
