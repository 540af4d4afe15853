package sample_test

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/receipt"
	"github.com/pecsdk/pec/sample"
)

// parsed is what both parsers give back.
type parsed struct {
	kind      pec.Kind
	data      *daticert.Data
	sig       *smime.Verdict
	problems  []error
	perr      *pec.Error
	hashes    []receipt.Hash
	original  func() (io.Reader, error)
	hasOrig   bool
	fromField string
}

func parse(t *testing.T, b []byte, opts *smime.VerifyOptions) parsed {
	t.Helper()
	env, err := envelope.Parse(bytes.NewReader(b), opts)
	if err == nil {
		from, _ := env.Header.AddressList("From")
		return parsed{kind: env.Kind, data: env.Data, sig: env.Signature, problems: env.Problems,
			original: env.Original, hasOrig: env.HasOriginal(), fromField: from[0].Address}
	}
	if !errors.Is(err, envelope.ErrNotEnvelope) {
		t.Fatalf("envelope.Parse: %v", err)
	}
	rc, err := receipt.Parse(bytes.NewReader(b), opts)
	if err != nil {
		t.Fatalf("receipt.Parse: %v", err)
	}
	from, _ := rc.Header.AddressList("From")
	return parsed{kind: rc.Kind, data: rc.Data, sig: rc.Signature, problems: rc.Problems, perr: rc.Error,
		hashes: rc.Hashes, original: rc.Original, hasOrig: rc.HasOriginal(), fromField: from[0].Address}
}

func sameData(t *testing.T, got, want *daticert.Data) {
	t.Helper()
	if got == nil || want == nil {
		if got != want {
			t.Fatalf("data: got %v, want %v", got, want)
		}
		return
	}
	if !got.Time.Equal(want.Time) {
		t.Errorf("Time: got %v, want %v", got.Time, want.Time)
	}
	g, w := *got, *want
	g.Time, w.Time = time.Time{}, time.Time{}
	if w.Error == "" {
		w.Error = pec.ErrorNone
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("data differs:\n got %+v\nwant %+v", g, w)
	}
}

// TestRoundTrip builds every kind of the catalogue and parses it back: the
// same kind, the same certification data, an intact and trusted signature
// by the From address, and no problem.
func TestRoundTrip(t *testing.T) {
	now := time.Now()
	set, err := sample.New(now)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Messages) != len(pec.Kinds) {
		t.Fatalf("%d messages, want %d", len(set.Messages), len(pec.Kinds))
	}
	idx, err := set.Index()
	if err != nil {
		t.Fatal(err)
	}
	// Verified a day on, when the timeout notices are in the past too.
	opts := &smime.VerifyOptions{Roots: set.PKI.Pool(), Authority: idx, CurrentTime: time.Now().Add(24 * time.Hour)}
	for _, k := range pec.Kinds {
		t.Run(k.String(), func(t *testing.T) {
			p := parse(t, set.Messages[k], opts)
			if p.kind != k {
				t.Fatalf("kind %s, want %s", p.kind, k)
			}
			if len(p.problems) > 0 {
				t.Errorf("problems: %v", p.problems)
			}
			sameData(t, p.data, set.Data[k])
			v := p.sig
			if v == nil || !v.Intact || v.Trusted == nil || !*v.Trusted || v.FromMatches == nil || !*v.FromMatches {
				t.Fatalf("signature verdict %+v", v)
			}
			if v.SignerEmail != p.fromField {
				t.Errorf("signer %s, From %s", v.SignerEmail, p.fromField)
			}
			wantOrig := k == pec.KindTransport || k == pec.KindAnomaly || k == pec.KindDelivery || k == pec.KindDeliveryShort
			if p.hasOrig != wantOrig {
				t.Errorf("has original = %v, want %v", p.hasOrig, wantOrig)
			}
			switch k {
			case pec.KindDelivery:
				o, _ := p.original()
				b, _ := io.ReadAll(o)
				if !bytes.Equal(b, set.Deposited) {
					t.Errorf("completa receipt does not carry the deposited original unchanged")
				}
			case pec.KindDeliveryShort:
				if len(p.hashes) != 1 || p.hashes[0].Name != "contratto.pdf" || len(p.hashes[0].Hex) != 40 {
					t.Errorf("hashes %+v", p.hashes)
				}
			}
			if k.ErrorCode() == pec.ErrorVirus || k == pec.KindDeliveryError || k.IsTimeout() || k == pec.KindNonAcceptance {
				var pe *pec.Error
				if p.perr == nil || !errors.As(error(p.perr), &pe) || pe.Code != set.Data[k].Error {
					t.Errorf("notice error %v, want code %s", p.perr, set.Data[k].Error)
				}
			}
		})
	}
}

// TestBriefHashes checks the hash of the breve receipt against the kept
// attachment, as a sender would (PEC.md §15.5).
func TestBriefHashes(t *testing.T) {
	set, err := sample.New(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rc, err := receipt.Parse(bytes.NewReader(set.Messages[pec.KindDeliveryShort]), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The attachment the sender kept: the receipt hashes its base64 form as
	// transmitted, which CheckAttachment recomputes from these bytes.
	raw := []byte("%PDF-1.4\n%\xc7\xec\x8f\xa2\n1 0 obj\n<</Type/Catalog>>\nendobj\ntrailer\n<</Root 1 0 R>>\n%%EOF\n")
	for _, tc := range []struct {
		name    string
		content []byte
		want    bool
	}{
		{"decoded bytes", raw, true},
		{"other bytes", []byte("not the contract"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := rc.CheckAttachment("contratto.pdf", bytes.NewReader(tc.content))
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.want {
				t.Errorf("CheckAttachment = %v, want %v", ok, tc.want)
			}
		})
	}
	if _, err := rc.CheckAttachment("missing.pdf", bytes.NewReader(nil)); err == nil {
		t.Error("CheckAttachment of an unknown name: no error")
	}
}
