package trace_test

import (
	"bytes"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/internal/testenv"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/receipt"
	"github.com/pecsdk/pec/sample"
	"github.com/pecsdk/pec/trace"
	"github.com/pecsdk/pec/trace/memstore"
)

// TestReissue logs one message of every kind as a provider would, with
// FromMessage, and re-issues each from the log: byte for byte the message
// sent, whose signature openssl still verifies against the CA, signed by
// the provider that sent it.
func TestReissue(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	set, err := sample.New(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, set.PKI.CAPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	st := memstore.New(nil)
	recs := map[pec.Kind]*trace.Record{}
	for _, k := range pec.Kinds {
		r, err := trace.FromMessage(k, set.Data[k], set.Messages[k])
		if err != nil {
			t.Fatalf("FromMessage(%s): %v", k, err)
		}
		if err := st.Append(t.Context(), r); err != nil {
			t.Fatalf("Append(%s): %v", k, err)
		}
		recs[k] = r
	}
	if rep, err := trace.Verify(t.Context(), st, nil); err != nil || !rep.OK() || rep.Records != uint64(len(pec.Kinds)) {
		t.Fatalf("Verify: %+v, %v", rep, err)
	}
	for _, k := range pec.Kinds {
		t.Run(k.String(), func(t *testing.T) {
			r := recs[k]
			// Through the encoding, as a store on disk keeps it.
			enc, _ := r.MarshalBinary()
			var kept trace.Record
			if err := kept.UnmarshalBinary(enc); err != nil || !kept.Check() {
				t.Fatalf("the record does not survive its encoding: %v", err)
			}
			if !bytes.Equal(kept.Message, set.Messages[k]) {
				t.Fatal("the encoded record does not hold the message byte for byte")
			}
			got, err := st.Reissue(t.Context(), "<"+r.Generated[0]+">")
			if err != nil {
				t.Fatalf("Reissue: %v", err)
			}
			if !bytes.Equal(got, set.Messages[k]) {
				t.Fatal("the re-issued message is not byte-identical to the one sent")
			}
			f := filepath.Join(t.TempDir(), "reissued.eml")
			if err := os.WriteFile(f, got, 0o644); err != nil {
				t.Fatal(err)
			}
			signer := filepath.Join(t.TempDir(), "signer.pem")
			if b, err := exec.Command(openssl, "smime", "-verify", "-CAfile", ca, "-in", f, "-out", os.DevNull, "-signer", signer).CombinedOutput(); err != nil {
				t.Fatalf("openssl smime -verify of the re-issued %s: %v\n%s", k, err, b)
			}
			want := set.Sender.Certificate()
			if r.Provider == sample.RecipientProvider || k == pec.KindAnomaly {
				want = set.Recipient.Certificate()
			}
			pemSigner, err := os.ReadFile(signer)
			if err != nil {
				t.Fatal(err)
			}
			blk, _ := pem.Decode(pemSigner)
			if blk == nil || !bytes.Equal(blk.Bytes, want.Raw) {
				t.Fatalf("openssl found another signer than the provider that sent the %s", k)
			}
			// And the SDK reads it back as the same kind, intact and trusted,
			// at a time after the latest re-issue (the timeout notices are
			// dated 12 and 24 hours on).
			idx, err := set.Index()
			if err != nil {
				t.Fatal(err)
			}
			opts := &smime.VerifyOptions{Roots: set.PKI.Pool(), Authority: idx, CurrentTime: time.Now().Add(48 * time.Hour)}
			var verdict *smime.Verdict
			var kind pec.Kind
			if k.IsEnvelope() {
				e, err := envelope.Parse(bytes.NewReader(got), opts)
				if err != nil {
					t.Fatal(err)
				}
				verdict, kind = e.Signature, e.Kind
			} else {
				rc, err := receipt.Parse(bytes.NewReader(got), opts)
				if err != nil {
					t.Fatal(err)
				}
				verdict, kind = rc.Signature, rc.Kind
			}
			if kind != k || verdict == nil || !verdict.OK() {
				t.Fatalf("the re-issued message parses as %s, signature %+v", kind, verdict)
			}
		})
	}
}

// TestFromMessage checks the fields FromMessage reads for every kind.
func TestFromMessage(t *testing.T) {
	set, err := sample.New(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	env := set.Envelope
	for _, k := range pec.Kinds {
		t.Run(k.String(), func(t *testing.T) {
			r, err := trace.FromMessage(k, set.Data[k], set.Messages[k])
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Validate(); err != nil {
				t.Fatalf("the record is not fit for the log: %v", err)
			}
			if r.Kind != k || r.Event != trace.KindEvent(k) || !r.Point.Valid() {
				t.Fatalf("Kind %s Event %s Point %q", r.Kind, r.Event, r.Point)
			}
			if len(r.Generated) != 1 || !bytes.Contains(set.Messages[k], []byte("<"+r.Generated[0]+">")) {
				t.Fatalf("Generated %q is not the message's Message-ID", r.Generated)
			}
			if !bytes.Equal(r.Message, set.Messages[k]) {
				t.Fatal("Message is not the message")
			}
			if k == pec.KindAnomaly {
				if r.Sender == "" || len(r.Recipients) == 0 || r.ClientMsgID == "" || strings.HasPrefix(r.Subject, "ANOMALIA") {
					t.Fatalf("anomaly record read from the header: %+v", r)
				}
				return
			}
			d := set.Data[k]
			if r.MsgID != env.ID || r.ClientMsgID != pec.NormalizeMsgID(env.MsgID) || r.Sender != env.Sender ||
				r.Subject != env.Subject || r.Provider != d.Provider || !r.Time.Equal(d.Time) || len(r.Recipients) != len(env.Recipients) {
				t.Fatalf("record %+v does not carry the certification data %+v", r, d)
			}
			if k == pec.KindTransport && r.Generated[0] != env.ID {
				t.Fatalf("the transport envelope's Message-ID %q is not the PEC msgid %q", r.Generated[0], env.ID)
			}
			if d.Delivery != r.Delivery || strings.Join(d.Receipts, ", ") != r.Reception {
				t.Fatalf("consegna %q ricezione %q, want %q %q", r.Delivery, r.Reception, d.Delivery, d.Receipts)
			}
			if ec := d.Error; ec != "" && ec != pec.ErrorNone && r.Error != ec {
				t.Fatalf("Error %q, want %q", r.Error, ec)
			}
		})
	}
	if _, err := trace.FromMessage(pec.KindUnknown, nil, set.Messages[pec.KindAcceptance]); err == nil {
		t.Error("FromMessage of no kind succeeded")
	}
	if _, err := trace.FromMessage(pec.KindAcceptance, set.Data[pec.KindAcceptance], []byte("Subject: x\r\n\r\nbody")); err == nil {
		t.Error("FromMessage of a message without Message-ID succeeded")
	}
}

// TestSealOpenSSL: a seal is a detached CMS signature an auditor checks
// with openssl alone, over the text of SignedBytes.
func TestSealOpenSSL(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	set, err := sample.New(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, set.PKI.CAPEM(), 0o644)
	recs := chained(5)
	seal, err := trace.NewSeal(5, recs[4].Hash, time.Now(), set.Sender)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := trace.NewCheckpoint(3, recs[2].Hash, recs[3].Time, time.Now(), set.Sender)
	if err != nil {
		t.Fatal(err)
	}
	for name, x := range map[string]struct{ content, sig []byte }{
		"seal":       {seal.SignedBytes(), seal.Signature},
		"checkpoint": {cp.SignedBytes(), cp.Signature},
	} {
		content, sig := filepath.Join(dir, name+".txt"), filepath.Join(dir, name+".p7s")
		os.WriteFile(content, x.content, 0o644)
		os.WriteFile(sig, x.sig, 0o644)
		verify := func() ([]byte, error) {
			return exec.Command(openssl, "smime", "-verify", "-binary", "-inform", "DER", "-in", sig, "-content", content,
				"-CAfile", ca, "-out", os.DevNull).CombinedOutput()
		}
		if b, err := verify(); err != nil {
			t.Fatalf("openssl smime -verify of the %s: %v\n%s", name, err, b)
		}
		bad := bytes.Replace(x.content, []byte("seq="), []byte("seq=1"), 1)
		os.WriteFile(content, bad, 0o644)
		if b, err := verify(); err == nil {
			t.Fatalf("openssl verified a %s over altered text\n%s", name, b)
		}
	}
	if v := seal.Verify(&smime.VerifyOptions{Roots: set.PKI.Pool()}); !v.Intact || !*v.Chained || !v.Signer.Equal(set.Sender.Certificate()) {
		t.Fatalf("Seal.Verify: %+v", v.Problems)
	}
	if v := cp.Verify(&smime.VerifyOptions{Roots: set.PKI.Pool()}); !v.Intact || !*v.Chained {
		t.Fatalf("Checkpoint.Verify: %+v", v.Problems)
	}
}
