package index_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/receipt"
	"github.com/pecsdk/pec/sample"
)

// checkTrustError asserts err is a *TrustError with the problem code.
func checkTrustError(t *testing.T, err error, code smime.ProblemCode) {
	t.Helper()
	var te *index.TrustError
	if !errors.As(err, &te) {
		t.Fatalf("%v is not a *TrustError", err)
	}
	if te.ProblemCode() != code {
		t.Fatalf("code %s, want %s", te.ProblemCode(), code)
	}
}

// transport builds a transport envelope signed by s, from a user of the
// domain of s's address.
func transport(t *testing.T, s *smime.Signer, at time.Time) []byte {
	t.Helper()
	addr := s.Address()
	domain := addr[strings.LastIndexByte(addr, '@')+1:]
	sender := "mario@" + domain
	d := &daticert.Data{
		Type: pec.CertTransport, Error: pec.ErrorNone, Sender: sender,
		Recipients: []daticert.Recipient{{Address: "bob@pec.gamma.example", Type: pec.RecipientCertified}},
		ReplyTo:    sender, Subject: "Prova", Provider: s.Certificate().Subject.Organization[0],
		Time: pec.Local(at), ID: pec.NewMsgID(domain, at), MsgID: "<m1@client.example>",
		ReceiptType: pec.ReceiptFull,
	}
	original := "From: " + sender + "\r\nTo: bob@pec.gamma.example\r\nSubject: Prova\r\n" +
		"Message-ID: <m1@client.example>\r\nDate: Mon, 14 Sep 2026 09:00:00 +0200\r\n\r\nCiao\r\n"
	var b bytes.Buffer
	if err := envelope.Build(&b, strings.NewReader(original), d, s, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestTrust: the trust decisions of PEC.md §12.5 steps 2–3, through envelope.Parse
// with the index as the Authority: each refusal with its own reason.
func TestTrust(t *testing.T) {
	w := testWorld(t)
	idx, err := index.New(w.providers)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, tc := range []struct {
		name    string
		signer  *smime.Signer
		at      time.Time
		trusted bool
		code    smime.ProblemCode
		sent    error
		reason  string
	}{
		{"listed", w.alfaNew, now, true, "", nil, ""},
		{"listed-old-of-renewal", w.alfaOld, now, true, "", nil, ""},
		{"listed-secondary-environment", w.alfaUnit, now, true, "", nil, ""},
		{"listed-name-with-comma", w.gamma, now, true, "", nil, ""},
		{"unlisted", w.unlisted, now, false, smime.ProblemUnlisted, index.ErrUnlisted, "in no providerCertificateHash"},
		{"expired", w.betaExpired, now, false, smime.ProblemExpired, index.ErrExpired, "verified at"},
		{"expired-old-of-renewal", w.alfaOld, now.AddDate(0, 2, 0), false, smime.ProblemExpired, index.ErrExpired, "verified at"},
		{"domain-not-managed", w.betaRogue, now, false, smime.ProblemDomainNotManaged, index.ErrDomainNotManaged, `"Beta Posta S.r.l." does not manage pec.alfa.example (managed by "Alfa PEC S.p.A.")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := transport(t, tc.signer, now)
			opts := &smime.VerifyOptions{Authority: idx}
			if !tc.at.Equal(now) {
				opts.CurrentTime = tc.at
			}
			env, err := envelope.Parse(bytes.NewReader(msg), opts)
			if err != nil {
				t.Fatal(err)
			}
			v := env.Signature
			if !v.Intact || v.Trusted == nil || *v.Trusted != tc.trusted {
				t.Fatalf("intact %v trusted %v problems %v", v.Intact, v.Trusted, v.Problems)
			}
			if tc.trusted {
				if !v.OK() || len(v.Problems) != 0 {
					t.Fatalf("problems %v", v.Problems)
				}
				return
			}
			if !v.HasProblem(tc.code) || !strings.Contains(problems(v), tc.reason) {
				t.Fatalf("problems %v, want %s with %q", v.Problems, tc.code, tc.reason)
			}
			err = idx.Authorize(tc.signer.Certificate(), pecmsgFrom(env), tc.at)
			if !errors.Is(err, tc.sent) {
				t.Fatalf("Authorize: %v, want %v", err, tc.sent)
			}
			checkTrustError(t, err, tc.code)
		})
	}
	t.Run("with-roots-too", func(t *testing.T) {
		msg := transport(t, w.alfaNew, now)
		for _, roots := range []struct {
			name    string
			trusted bool
			pki     bool
		}{{"right-roots", true, true}, {"pool-of-the-index", true, false}} {
			opts := &smime.VerifyOptions{Authority: idx, Roots: idx.Pool()}
			if roots.pki {
				opts.Roots = w.pki.Pool()
			}
			env, err := envelope.Parse(bytes.NewReader(msg), opts)
			if err != nil {
				t.Fatal(err)
			}
			if *env.Signature.Trusted != roots.trusted {
				t.Errorf("%s: trusted %v problems %v", roots.name, *env.Signature.Trusted, env.Signature.Problems)
			}
		}
	})
}

// pecmsgFrom is the From address of an envelope.
func pecmsgFrom(e *envelope.Envelope) string {
	l, err := e.Header.AddressList("From")
	if err != nil || len(l) == 0 {
		return ""
	}
	return l[0].Address
}

func problems(v *smime.Verdict) string {
	var s []string
	for _, p := range v.Problems {
		s = append(s, p.String())
	}
	return strings.Join(s, "; ")
}

// TestSampleTrusted: with the sample's own index, every message of the
// sample set is trusted through envelope.Parse or receipt.Parse; with the
// index of another world, none is.
func TestSampleTrusted(t *testing.T) {
	start := time.Now()
	set, err := sample.New(start)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := set.Index()
	if err != nil {
		t.Fatal(err)
	}
	other, err := index.New(testWorld(t).providers)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range pec.Kinds {
		t.Run(k.String(), func(t *testing.T) {
			for _, tc := range []struct {
				idx     index.Index
				trusted bool
			}{{idx, true}, {other, false}} {
				// Verified a day later, when the timeout notices of the
				// set (signed up to 23 hours after its start) have been sent.
				opts := &smime.VerifyOptions{Authority: tc.idx, CurrentTime: start.Add(24 * time.Hour)}
				var v *smime.Verdict
				if k.IsEnvelope() {
					e, err := envelope.Parse(bytes.NewReader(set.Messages[k]), opts)
					if err != nil {
						t.Fatal(err)
					}
					v = e.Signature
				} else {
					r, err := receipt.Parse(bytes.NewReader(set.Messages[k]), opts)
					if err != nil {
						t.Fatal(err)
					}
					v = r.Signature
				}
				if v.Trusted == nil || *v.Trusted != tc.trusted {
					t.Fatalf("trusted %v, want %v: %v", v.Trusted, tc.trusted, v.Problems)
				}
				if !tc.trusted && !v.HasProblem(smime.ProblemUnlisted) {
					t.Fatalf("problems %v, want unlisted", v.Problems)
				}
			}
		})
	}
}
