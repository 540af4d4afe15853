package pecmail_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime/quotedprintable"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/pecmail"
	"github.com/pecsdk/pec/receipt"
	"github.com/pecsdk/pec/sample"
)

var (
	setOnce sync.Once
	set     *sample.Set
	setErr  error
)

// sampleSet is one sample world for the tests, dated two days ago so that
// every message verifies now.
func sampleSet(tb testing.TB) *sample.Set {
	tb.Helper()
	setOnce.Do(func() { set, setErr = sample.New(time.Now().Add(-48 * time.Hour)) })
	if setErr != nil {
		tb.Fatal(setErr)
	}
	return set
}

// TestReadKinds: every kind of the catalogue is read as itself, OK with
// the sample index, and envelope.Of / receipt.Of are views of the same
// reading, refusing the other family.
func TestReadKinds(t *testing.T) {
	s := sampleSet(t)
	idx, err := s.Index()
	if err != nil {
		t.Fatal(err)
	}
	opts := &smime.VerifyOptions{Authority: idx}
	for _, k := range pec.Kinds {
		t.Run(k.String(), func(t *testing.T) {
			m, err := pecmail.Read(bytes.NewReader(s.Messages[k]), opts)
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != k || !m.IsPEC() || m.PEC() != m || !m.OK() || m.Err() != nil || m.Wrapped || m.Forwarded != nil {
				t.Fatalf("kind %s, IsPEC %v, OK %v, problems %v", m.Kind, m.IsPEC(), m.OK(), m.Problems)
			}
			var c pecmail.Certified
			e, eerr := envelope.Of(m)
			rc, rerr := receipt.Of(m)
			switch {
			case k.IsEnvelope():
				if eerr != nil || !errors.Is(rerr, receipt.ErrNotReceipt) {
					t.Fatalf("envelope.Of: %v, receipt.Of: %v", eerr, rerr)
				}
				c = e
			default:
				if rerr != nil || !errors.Is(eerr, envelope.ErrNotEnvelope) {
					t.Fatalf("receipt.Of: %v, envelope.Of: %v", rerr, eerr)
				}
				c = rc
			}
			if c.PEC() != m || c.OK() != m.OK() || c.HasOriginal() != m.HasOriginal() {
				t.Errorf("the view is not of the same reading")
			}
			subject := s.Data[pec.KindTransport].Subject
			if k == pec.KindAnomaly {
				subject = "Offerta" // the anomaly envelope wraps sample.Ordinary
			}
			if m.Subject() != subject || !strings.Contains(m.Text(), subject) {
				t.Errorf("Subject %q, text %q; want %q", m.Subject(), m.Text(), subject)
			}
		})
	}
}

// TestReadOrdinary: ordinary mail is no error and no PEC message; a PEC
// message forwarded inside it is found and read in the same pass.
func TestReadOrdinary(t *testing.T) {
	m, err := pecmail.Read(strings.NewReader(sample.Ordinary), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.IsPEC() || m.PEC() != nil || m.Kind != pec.KindUnknown || m.OK() || m.Subject() != "Offerta" || !strings.Contains(m.Text(), "ordinario") {
		t.Errorf("ordinary mail read as %s (PEC %v, OK %v), subject %q, text %q", m.Kind, m.IsPEC(), m.OK(), m.Subject(), m.Text())
	}
	if _, err := m.Original(); !errors.Is(err, pecmail.ErrNoOriginal) {
		t.Errorf("Original of ordinary mail: %v", err)
	}
	if _, err := envelope.Of(m); !errors.Is(err, pec.ErrNotPEC) {
		t.Errorf("envelope.Of(ordinary): %v", err)
	}

	s := sampleSet(t)
	fw, err := pecmail.Read(bytes.NewReader(forward(s.Messages[pec.KindTransport])), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := fw.Forwarded
	if fw.IsPEC() || fw.OK() || p == nil || fw.PEC() != p || p.Kind != pec.KindTransport || !p.Wrapped || !p.IsPEC() {
		t.Fatalf("forwarded PEC: outer PEC %v, forwarded %+v", fw.IsPEC(), p)
	}
	if fw.Subject() != "Fwd: la PEC" || p.Subject() != "Contratto di fornitura" {
		t.Errorf("subjects %q / %q", fw.Subject(), p.Subject())
	}
	as, err := fw.Attachments()
	if err != nil || len(as) != 1 || as[0].Name != "pec.eml" || as[0].ContentType != "message/rfc822" {
		t.Fatalf("attachments of the forwarding mail: %+v, %v", as, err)
	}
	e, err := envelope.Of(fw)
	if err != nil || !e.Wrapped || e.PEC() != p {
		t.Errorf("envelope.Of(forwarding mail): %v", err)
	}
}

// TestAttachmentsBytes: an attachment opens as the bytes attached, its
// transfer encoding undone and nothing else, whatever its charset label;
// Size is the number of bytes Open gives.
func TestAttachmentsBytes(t *testing.T) {
	latin1 := []byte("Perch\xe8 s\xec: consegna entro luned\xec.\r\n")
	qp := func(b []byte) string {
		var w bytes.Buffer
		q := quotedprintable.NewWriter(&w)
		q.Write(b)
		q.Close()
		return w.String()
	}
	for _, tc := range []struct {
		name, contentType, encoding, body string
		want                              []byte
		unknownEncoding                   bool
	}{
		{"base64-latin1", "text/plain; charset=iso-8859-1", "base64", base64.StdEncoding.EncodeToString(latin1), latin1, false},
		{"base64-indented", "application/pdf", "base64", " JVBE\r\n\tRi0x", []byte("%PDF-1"), false},
		{"qp-latin1", "text/plain; charset=iso-8859-1", "quoted-printable", qp(latin1), latin1, false},
		{"8bit-unknown-charset", "text/plain; charset=x-sconosciuto", "8bit", string(latin1), latin1, false},
		{"binary", "application/octet-stream", "", "\x00\x01\xff", []byte("\x00\x01\xff"), false},
		{"unknown-encoding", "application/octet-stream", "x-uuencode", "begin 644 a", []byte("begin 644 a"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := "From: a@example.com\r\nTo: b@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n" +
				"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\ntesto\r\n" +
				"--b\r\nContent-Type: " + tc.contentType + "; name=\"f\"\r\nContent-Disposition: attachment; filename=\"nota.txt\"\r\n"
			if tc.encoding != "" {
				msg += "Content-Transfer-Encoding: " + tc.encoding + "\r\n"
			}
			msg += "\r\n" + tc.body + "\r\n--b--\r\n"
			m, err := pecmail.Read(strings.NewReader(msg), nil)
			if err != nil {
				t.Fatal(err)
			}
			as, err := m.Attachments()
			if err != nil || len(as) != 1 {
				t.Fatalf("attachments %+v, %v", as, err)
			}
			a := as[0]
			if a.Name != "nota.txt" || a.Path != "2" {
				t.Errorf("name %q, path %q", a.Name, a.Path)
			}
			r, err := a.Open()
			if tc.unknownEncoding != message.IsUnknownEncoding(err) || (err != nil && !tc.unknownEncoding) {
				t.Fatalf("Open: %v", err)
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, tc.want) {
				t.Errorf("content % x, %v; want % x", got, err, tc.want)
			}
			if a.Size() != int64(len(tc.want)) {
				t.Errorf("Size %d, want %d", a.Size(), len(tc.want))
			}
		})
	}
}

// TestReadOnce: Read verifies the signature once and the views add no
// reading: envelope.Parse and receipt.Parse are Read and Of.
func TestReadOnce(t *testing.T) {
	s := sampleSet(t)
	raw := s.Messages[pec.KindDelivery]
	m, err := pecmail.Read(bytes.NewReader(raw), nil)
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := receipt.Of(m); err != nil {
			t.Fatal(err)
		}
		if _, err := envelope.Of(m); err == nil {
			t.Fatal("a delivery receipt taken for an envelope")
		}
	})
	if allocs > 8 {
		t.Errorf("Of makes %.0f allocations: it reads again", allocs)
	}
}
