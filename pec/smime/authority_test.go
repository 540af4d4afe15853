package smime_test

import (
	"bytes"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/smime"
)

// authority is an Authority that records its arguments and answers err.
type authority struct {
	err    error
	signer *x509.Certificate
	from   string
	at     time.Time
}

func (a *authority) Authorize(signer *x509.Certificate, from string, at time.Time) error {
	a.signer, a.from, a.at = signer, from, at
	return a.err
}

// codedError carries its own ProblemCode, as the index's errors do.
type codedError struct{ code smime.ProblemCode }

func (e codedError) Error() string                  { return "refused: " + string(e.code) }
func (e codedError) ProblemCode() smime.ProblemCode { return e.code }

func TestVerifyAuthority(t *testing.T) {
	f := testFixture(t)
	now := time.Now().Truncate(time.Second)
	content, sig := signed(t, f.sha256, now)
	tampered := bytes.Replace(content, []byte("Hello"), []byte("Jello"), 1)
	if bytes.Equal(tampered, content) {
		tampered = append(append([]byte{}, content...), 'x')
	}
	for _, tc := range []struct {
		name    string
		content []byte
		err     error
		roots   *x509.CertPool
		trusted bool
		problem smime.ProblemCode
	}{
		{"authorized", content, nil, nil, true, ""},
		{"authorized-and-chained", content, nil, f.pki.Pool(), true, ""},
		{"authorized-wrong-roots", content, nil, f.other.Pool(), false, smime.ProblemUntrustedChain},
		{"unlisted", content, codedError{smime.ProblemUnlisted}, nil, false, smime.ProblemUnlisted},
		{"not-managed", content, codedError{smime.ProblemDomainNotManaged}, f.pki.Pool(), false, smime.ProblemDomainNotManaged},
		{"wrapped-problem", content, errorsJoin(smime.Problem{Code: smime.ProblemExpired, Detail: "x"}), nil, false, smime.ProblemExpired},
		{"plain-error", content, errors.New("index not loaded"), nil, false, smime.ProblemUnauthorized},
		{"authorized-not-intact", tampered, nil, nil, false, smime.ProblemDigestMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &authority{err: tc.err}
			opts := &smime.VerifyOptions{Authority: a, Roots: tc.roots, From: "Gestore <" + upperDomain(f.provider) + ">", AsOfSigningTime: true}
			v, err := smime.Verify(bytes.NewReader(tc.content), sig, opts)
			if err != nil {
				t.Fatal(err)
			}
			if v.Trusted == nil || *v.Trusted != tc.trusted {
				t.Fatalf("trusted %v, want %v; problems %v", v.Trusted, tc.trusted, v.Problems)
			}
			if tc.problem != "" && !v.HasProblem(tc.problem) {
				t.Fatalf("problems %v, want %s", v.Problems, tc.problem)
			}
			if tc.err != nil && !strings.Contains(problemText(v), tc.err.Error()) {
				t.Errorf("problems %v do not carry the reason %q", v.Problems, tc.err)
			}
			if *v.Trusted != (v.OK()) {
				t.Errorf("OK %v with trusted %v", v.OK(), *v.Trusted)
			}
			if (v.Chained == nil || !*v.Chained) && len(v.Chains) > 0 {
				t.Errorf("chains given for an unchained verdict")
			}
			if a.signer == nil || !a.signer.Equal(f.sha256.Certificate()) {
				t.Fatalf("Authorize got signer %v", a.signer)
			}
			if a.from != upperDomain(f.provider) {
				t.Errorf("Authorize got from %q, want the bare address", a.from)
			}
			if !a.at.Equal(now) {
				t.Errorf("Authorize got time %v, want the signing time %v", a.at, now)
			}
		})
	}
	t.Run("current-time", func(t *testing.T) {
		a := &authority{}
		at := now.Add(time.Hour)
		smime.Verify(bytes.NewReader(content), sig, &smime.VerifyOptions{Authority: a, CurrentTime: at})
		if !a.at.Equal(at) || a.from != "" {
			t.Fatalf("Authorize got %v %q", a.at, a.from)
		}
	})
	t.Run("no-signer", func(t *testing.T) {
		a := &authority{}
		v, _ := smime.Verify(bytes.NewReader(content), nil, &smime.VerifyOptions{Authority: a})
		if v.Trusted == nil || *v.Trusted || !v.HasProblem(smime.ProblemUnlisted) || a.signer != nil {
			t.Fatalf("trusted %v problems %v", v.Trusted, v.Problems)
		}
	})
}

func errorsJoin(err error) error { return errors.Join(errors.New("wrapped"), err) }

func problemText(v *smime.Verdict) string {
	var b strings.Builder
	for _, p := range v.Problems {
		b.WriteString(p.String())
		b.WriteString("\n")
	}
	return b.String()
}

// upperDomain upper-cases the domain of an address, which still matches.
func upperDomain(a string) string {
	i := strings.LastIndexByte(a, '@')
	return a[:i] + strings.ToUpper(a[i:])
}
