package index_test

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/pectest"
	"github.com/pecsdk/pec/pec/smime"
)

const (
	agid      = "Agenzia per l'Italia Digitale"
	agidEmail = "indice@agid.example"
)

// publishers is a shared root, as for PEC (PEC.md §12.4): one CA under it
// issues the index publisher's certificate, the providers' and ordinary
// e-mail certificates alike.
type publishers struct {
	anchors   *x509.CertPool
	genuine   *smime.Signer // the publisher of the index
	provider  *smime.Signer // a provider's signing key
	ordinary  *smime.Signer // an ordinary e-mail certificate
	twin      *smime.Signer // an ordinary e-mail certificate with the publisher's address
	otherRoot *smime.Signer // the publisher's name and address under another root
}

func newPublishers(t *testing.T) *publishers {
	t.Helper()
	root, err := pectest.NewPKI("Test Root CA")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := root.NewIntermediate("Test CA1")
	if err != nil {
		t.Fatal(err)
	}
	other, err := pectest.NewPKI("Other Root CA")
	if err != nil {
		t.Fatal(err)
	}
	p := &publishers{anchors: root.Pool()}
	for _, s := range []struct {
		dst   **smime.Signer
		issue func() (*smime.Signer, error)
	}{
		{&p.genuine, func() (*smime.Signer, error) { s, _, err := ca.NewProvider(agid, agidEmail, nil); return s, err }},
		{&p.provider, func() (*smime.Signer, error) {
			s, _, err := ca.NewProvider(beta, "servizio@pec.beta.example", nil)
			return s, err
		}},
		{&p.ordinary, func() (*smime.Signer, error) {
			s, _, err := ca.NewEmailUser("Mario Rossi", "mario.rossi@posta.example", nil)
			return s, err
		}},
		{&p.twin, func() (*smime.Signer, error) { s, _, err := ca.NewEmailUser("Indice", agidEmail, nil); return s, err }},
		{&p.otherRoot, func() (*smime.Signer, error) { s, _, err := other.NewProvider(agid, agidEmail, nil); return s, err }},
	} {
		if *s.dst, err = s.issue(); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// refusal is how a signed index must end: read, refused for its
// publisher (ErrPublisher), or refused for its signature or chain
// (ErrUntrustedLDIF alone).
type refusal int

const (
	accepted refusal = iota
	notPublisher
	untrusted
	rolledBack
)

func checkRefusal(t *testing.T, s *index.Snapshot, err error, want refusal) {
	t.Helper()
	switch want {
	case accepted:
		if err != nil || s == nil {
			t.Fatalf("refused: %v", err)
		}
		return
	case notPublisher:
		if s != nil || !errors.Is(err, index.ErrPublisher) || !errors.Is(err, index.ErrUntrustedLDIF) {
			t.Fatalf("snapshot %v, err %v; want ErrPublisher and ErrUntrustedLDIF", s, err)
		}
	case untrusted:
		if s != nil || !errors.Is(err, index.ErrUntrustedLDIF) || errors.Is(err, index.ErrPublisher) || errors.Is(err, index.ErrRollback) {
			t.Fatalf("snapshot %v, err %v; want ErrUntrustedLDIF alone", s, err)
		}
	case rolledBack:
		if s != nil || !errors.Is(err, index.ErrRollback) || !errors.Is(err, index.ErrUntrustedLDIF) {
			t.Fatalf("snapshot %v, err %v; want ErrRollback and ErrUntrustedLDIF", s, err)
		}
	}
	var se *index.SignedLDIFError
	if !errors.As(err, &se) {
		t.Fatalf("%v is not a *SignedLDIFError", err)
	}
}

// TestPublisherPinned: with the publisher pinned by its certificate,
// subject or address, an index signed by a provider's key or by an
// ordinary e-mail certificate under the same root is refused; the genuine
// publisher is accepted. With nothing pinned every signed index is
// refused, unless any signer under the anchors is explicitly allowed.
func TestPublisherPinned(t *testing.T) {
	w := testWorld(t)
	p := newPublishers(t)
	ldif := w.ldif(t)
	subject := "CN=Posta Certificata " + agid + ",O=" + agid + ",C=IT"
	signers := []struct {
		name string
		s    *smime.Signer
	}{
		{"genuine", p.genuine},
		{"provider-key", p.provider},
		{"ordinary-email", p.ordinary},
		{"email-twin", p.twin},
		{"other-root", p.otherRoot},
	}
	for _, tc := range []struct {
		name string
		opts index.SignedOptions
		want [5]refusal // by signer, in the order of signers
	}{
		{"certificate", index.SignedOptions{Anchors: p.anchors, Publisher: &index.Publisher{Certificates: []*x509.Certificate{p.provider.Certificate(), p.genuine.Certificate()}[1:]}},
			[5]refusal{accepted, notPublisher, notPublisher, notPublisher, untrusted}},
		{"certificate-without-anchors", index.SignedOptions{Publisher: &index.Publisher{Certificates: []*x509.Certificate{p.genuine.Certificate()}}},
			[5]refusal{accepted, untrusted, untrusted, untrusted, untrusted}},
		{"subject", index.SignedOptions{Anchors: p.anchors, Publisher: &index.Publisher{Subject: subject}},
			[5]refusal{accepted, notPublisher, notPublisher, notPublisher, untrusted}},
		{"subject-openssl-order", index.SignedOptions{Anchors: p.anchors, Publisher: &index.Publisher{Subject: "C = IT, O = " + agid + ", CN = posta certificata " + agid}},
			[5]refusal{accepted, notPublisher, notPublisher, notPublisher, untrusted}},
		{"subject-missing-attribute", index.SignedOptions{Anchors: p.anchors, Publisher: &index.Publisher{Subject: "O=" + agid + ",C=IT"}},
			[5]refusal{notPublisher, notPublisher, notPublisher, notPublisher, untrusted}},
		{"subject-not-a-dn", index.SignedOptions{Anchors: p.anchors, Publisher: &index.Publisher{Subject: "Agenzia"}},
			[5]refusal{notPublisher, notPublisher, notPublisher, notPublisher, untrusted}},
		// An address is as strong as the CAs under the anchors: one that
		// issues the publisher's address to another key is believed.
		{"email", index.SignedOptions{Anchors: p.anchors, Publisher: &index.Publisher{Email: agidEmail}},
			[5]refusal{accepted, notPublisher, notPublisher, accepted, untrusted}},
		{"email-domain-case", index.SignedOptions{Anchors: p.anchors, Publisher: &index.Publisher{Email: "indice@AGID.Example"}},
			[5]refusal{accepted, notPublisher, notPublisher, accepted, untrusted}},
		{"email-local-part-case", index.SignedOptions{Anchors: p.anchors, Publisher: &index.Publisher{Email: "Indice@agid.example"}},
			[5]refusal{notPublisher, notPublisher, notPublisher, notPublisher, untrusted}},
		{"every-field", index.SignedOptions{Anchors: p.anchors, Publisher: &index.Publisher{
			Certificates: []*x509.Certificate{p.genuine.Certificate()}, Subject: subject, Email: agidEmail}},
			[5]refusal{accepted, notPublisher, notPublisher, notPublisher, untrusted}},
		{"nothing-pinned", index.SignedOptions{Anchors: p.anchors},
			[5]refusal{notPublisher, notPublisher, notPublisher, notPublisher, notPublisher}},
		{"empty-publisher", index.SignedOptions{Anchors: p.anchors, Publisher: &index.Publisher{}},
			[5]refusal{notPublisher, notPublisher, notPublisher, notPublisher, notPublisher}},
		// The explicit opt-in takes any signer under the anchors: a
		// provider's key too.
		{"any-signer-under-anchors", index.SignedOptions{Anchors: p.anchors, AnySignerUnderAnchors: true},
			[5]refusal{accepted, accepted, accepted, accepted, untrusted}},
		{"nothing-to-trust", index.SignedOptions{AnySignerUnderAnchors: true},
			[5]refusal{untrusted, untrusted, untrusted, untrusted, untrusted}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, sg := range signers {
				t.Run(sg.name, func(t *testing.T) {
					p7m, err := sg.s.SignAttached(ldif, time.Now())
					if err != nil {
						t.Fatal(err)
					}
					opts := tc.opts
					s, err := index.ParseSignedLDIF(p7m, &opts)
					checkRefusal(t, s, err, tc.want[i])
					if s != nil {
						checkLookups(t, w, s)
						return
					}
					var se *index.SignedLDIFError
					errors.As(err, &se)
					if tc.want[i] == notPublisher && se.Signer != sg.s.Certificate().EmailAddresses[0] {
						t.Errorf("refusal names signer %q, want %q", se.Signer, sg.s.Certificate().EmailAddresses[0])
					}
				})
			}
		})
	}

	// Refused for want of a pin, the error still says whether the
	// signature it names would have passed.
	t.Run("nothing-pinned-says-why", func(t *testing.T) {
		for _, tc := range []struct {
			s    *smime.Signer
			says string
		}{
			{p.genuine, "the signature is intact and chains to the anchors"},
			{p.otherRoot, "the signature is not valid either: " + string(smime.ProblemUntrustedChain)},
		} {
			p7m, err := tc.s.SignAttached(ldif, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			_, err = index.ParseSignedLDIF(p7m, &index.SignedOptions{Anchors: p.anchors})
			if !errors.Is(err, index.ErrPublisher) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("%v, want ErrPublisher saying %q", err, tc.says)
			}
		}
	})

	t.Run("file", func(t *testing.T) {
		dir := t.TempDir()
		for _, sg := range signers {
			p7m, err := sg.s.SignAttached(ldif, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, sg.name+".ldif.p7m")
			if err := os.WriteFile(path, p7m, 0o644); err != nil {
				t.Fatal(err)
			}
			f := &index.File{Path: path, Anchors: p.anchors, Publisher: &index.Publisher{Email: agidEmail, Subject: subject}}
			s, err := f.Load(context.Background())
			want := notPublisher
			switch sg.s {
			case p.genuine:
				want = accepted
			case p.otherRoot:
				want = untrusted
			}
			checkRefusal(t, s, err, want)
			if err != nil && !strings.Contains(err.Error(), path) {
				t.Errorf("%v does not name the file", err)
			}
		}
	})
}

// TestSignedLDIFRollback: an index signed before MinSigningTime is
// refused; the snapshot remembers its signing time.
func TestSignedLDIFRollback(t *testing.T) {
	w := testWorld(t)
	p := newPublishers(t)
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	p7m, err := p.genuine.SignAttached(w.ldif(t), at)
	if err != nil {
		t.Fatal(err)
	}
	pin := &index.Publisher{Certificates: []*x509.Certificate{p.genuine.Certificate()}}
	for _, tc := range []struct {
		name string
		min  time.Time
		want refusal
	}{
		{"no-floor", time.Time{}, accepted},
		{"at-floor", at, accepted},
		{"after-floor", at.Add(-time.Second), accepted},
		{"before-floor", at.Add(time.Second), rolledBack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := index.ParseSignedLDIF(p7m, &index.SignedOptions{Anchors: p.anchors, Publisher: pin, MinSigningTime: tc.min})
			checkRefusal(t, s, err, tc.want)
			if s != nil && !s.SigningTime().Equal(at) {
				t.Errorf("SigningTime %v, want %v", s.SigningTime(), at)
			}
		})
	}
	s, err := index.ParseLDIF(strings.NewReader(string(w.ldif(t))))
	if err != nil || !s.SigningTime().IsZero() {
		t.Fatalf("plain LDIF: signing time %v, %v", s.SigningTime(), err)
	}
}

// sourceFunc is a Source of a function.
type sourceFunc func(context.Context) (*index.Snapshot, error)

func (f sourceFunc) Load(ctx context.Context) (*index.Snapshot, error) { return f(ctx) }

// TestMirrorRollback: a Mirror refuses an index signed before the one it
// serves, keeps serving the old one and reports the error; an index
// signed at the same time or later replaces it. A restarted Mirror
// refuses it too when given the signing time it served.
func TestMirrorRollback(t *testing.T) {
	w := testWorld(t)
	p := newPublishers(t)
	now := time.Now().Truncate(time.Second)
	t0, t1, t2 := now.Add(-2*time.Hour), now.Add(-time.Hour), now
	// The older index still lists Gamma, removed since.
	older := w.ldif(t)
	s, err := index.New(w.providers[:3])
	if err != nil {
		t.Fatal(err)
	}
	var current strings.Builder
	if err := s.WriteLDIF(&current); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "igpec.ldif.p7m")
	write := func(ldif []byte, at time.Time) {
		t.Helper()
		p7m, err := p.genuine.SignAttached(ldif, at)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, p7m, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pin := &index.Publisher{Certificates: []*x509.Certificate{p.genuine.Certificate()}}
	file := &index.File{Path: path, Anchors: p.anchors, Publisher: pin}
	var statuses []index.Status
	m := index.NewMirror(file, &index.MirrorOptions{OnRefresh: func(s index.Status) { statuses = append(statuses, s) }})
	ctx := context.Background()

	write([]byte(current.String()), t1)
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	good := m.Snapshot()
	if st := m.Status(); !st.SigningTime.Equal(t1) || !good.SigningTime().Equal(t1) {
		t.Fatalf("signing time served %v, snapshot %v; want %v", st.SigningTime, good.SigningTime(), t1)
	}

	write(older, t0)
	err = m.Refresh(ctx)
	if !errors.Is(err, index.ErrRollback) || !errors.Is(err, index.ErrUntrustedLDIF) || !strings.Contains(err.Error(), t1.UTC().Format(time.RFC3339)) {
		t.Fatalf("older index: %v; want ErrRollback naming the signing time in service", err)
	}
	var se *index.SignedLDIFError
	if !errors.As(err, &se) || !se.SigningTime.Equal(t0) || se.Signer != agidEmail {
		t.Fatalf("refusal %+v, want the older index's signing time and signer", se)
	}
	if m.Snapshot() != good || m.LastError() != err {
		t.Fatal("the snapshot in service was replaced, or the error not kept")
	}
	if _, ok := m.Domain("pec.gamma.example"); ok {
		t.Fatal("a domain of the older index is served")
	}
	if st := statuses[len(statuses)-1]; st.Err != err || st.Failures != 1 || !st.SigningTime.Equal(t1) {
		t.Fatalf("status %+v", st)
	}

	// A Mirror restarted with the signing time it served refuses it too.
	restarted := *file
	restarted.MinSigningTime = m.Status().SigningTime
	m2 := index.NewMirror(&restarted, nil)
	if err := m2.Refresh(ctx); !errors.Is(err, index.ErrRollback) || m2.Snapshot() != nil {
		t.Fatalf("restarted Mirror: %v, snapshot %v", err, m2.Snapshot())
	}

	// The same index again, and a newer one, are taken.
	write([]byte(current.String()), t1)
	if err := m.Refresh(ctx); err != nil || m.Snapshot() == good {
		t.Fatalf("same signing time: %v", err)
	}
	write(older, t2)
	if err := m.Refresh(ctx); err != nil || !m.Snapshot().SigningTime().Equal(t2) {
		t.Fatalf("newer index: %v", err)
	}
	if _, ok := m.Domain("pec.gamma.example"); !ok {
		t.Fatal("the newer index is not served")
	}

	// A source that turns to unsigned snapshots after a signed one is
	// refused too: nothing says the unsigned one is newer.
	plain, err := index.New(w.providers)
	if err != nil {
		t.Fatal(err)
	}
	loads := 0
	m3 := index.NewMirror(sourceFunc(func(ctx context.Context) (*index.Snapshot, error) {
		loads++
		if loads > 1 {
			return plain, nil
		}
		return file.Load(ctx)
	}), nil)
	if err := m3.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	signed := m3.Snapshot()
	if err := m3.Refresh(ctx); !errors.Is(err, index.ErrRollback) || m3.Snapshot() != signed || !strings.Contains(err.Error(), "no signing time") {
		t.Fatalf("unsigned after signed: %v", err)
	}
}

// TestPublisherSubject: the spellings of a pinned subject that name the
// signer's subject, and near misses that do not.
func TestPublisherSubject(t *testing.T) {
	w := testWorld(t)
	p := newPublishers(t)
	p7m, err := p.ordinary.SignAttached(w.ldif(t), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The ordinary certificate's subject: CN=Mario Rossi and an emailAddress.
	for _, tc := range []struct {
		subject string
		ok      bool
	}{
		{"CN=Mario Rossi,emailAddress=mario.rossi@posta.example", true},
		{"E=mario.rossi@posta.example, CN=Mario Rossi", true},
		{"1.2.840.113549.1.9.1=mario.rossi@posta.example+commonName=MARIO ROSSI", true},
		{"OID.2.5.4.3=Mario Rossi,email=Mario.Rossi@Posta.Example", true},
		{"CN=Mario Rossi", false},
		{"CN=Mario Rossi,emailAddress=mario.rossi@posta.example,O=Posta", false},
		{"CN=Mario Rossi,emailAddress=mario.rossi@posta.example,CN=Mario Rossi", false},
		{"CN=Mario\\, Rossi,emailAddress=mario.rossi@posta.example", false},
	} {
		t.Run(tc.subject, func(t *testing.T) {
			s, err := index.ParseSignedLDIF(p7m, &index.SignedOptions{Anchors: p.anchors, Publisher: &index.Publisher{Subject: tc.subject}})
			want := notPublisher
			if tc.ok {
				want = accepted
			}
			checkRefusal(t, s, err, want)
		})
	}
}
