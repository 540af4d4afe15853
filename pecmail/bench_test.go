package pecmail_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"math/rand"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/pecsdk/pec/envelope"
	"github.com/pecsdk/pec/internal/testenv"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/index"
	"github.com/pecsdk/pec/pec/pectest"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/pecmail"
	"github.com/pecsdk/pec/receipt"
)

// Targets, measured on the whole corpus per operation with the corpus
// signers trusted (corpusTrust), so that the full path runs:
//
//   - BenchmarkCorpusRead at least as fast as BenchmarkCorpusWalkFloor
//     (MB/s), measured in one loop by BenchmarkCorpusReadFloorRatio
//     (x-floor ≤ 1);
//   - BenchmarkCorpusRead allocating at most 2× the corpus bytes (the
//     x-corpus metric);
//   - BenchmarkReadSmallReceipt under 50 KB allocated per receipt of
//     3–10 KB.

// readFully is what a reader of a mailbox does with one message: read it
// once (MIME scan, certification data, signature verified with opts), then
// read its text and every attachment of the original to io.Discard.
func readFully(raw []byte, opts *smime.VerifyOptions) error {
	return readFullyFrom(bytes.NewReader(raw), opts)
}

// readFullyFrom is readFully of the message r holds.
func readFullyFrom(r io.Reader, opts *smime.VerifyOptions) error {
	m, err := pecmail.Read(r, opts)
	if err != nil {
		return err
	}
	p := m.PEC()
	if p == nil {
		p = m
	}
	_ = p.Text()
	if !p.HasOriginal() && p.IsPEC() {
		return nil
	}
	as, err := p.Attachments()
	if err != nil {
		return err
	}
	for _, a := range as {
		r, _ := a.Open()
		// A damaged attachment (the corpus has placeholders) is read as
		// far as it goes.
		io.Copy(io.Discard, r)
	}
	return nil
}

// readmePattern is how the README read a message before pecmail: parse
// as an envelope, rewind and parse as a receipt when it is not one, then
// walk every part of the original with go-message's mail.Reader.
func readmePattern(raw []byte, opts *smime.VerifyOptions) error {
	var orig func() (*mail.Reader, error)
	env, err := envelope.Parse(bytes.NewReader(raw), opts)
	switch {
	case errors.Is(err, envelope.ErrNotEnvelope):
		rc, err := receipt.Parse(bytes.NewReader(raw), opts)
		if err != nil {
			return err
		}
		_ = rc.Text()
		if rc.HasOriginal() {
			orig = rc.OriginalMessage
		}
	case err != nil:
		return err
	default:
		_ = env.Text()
		if env.HasOriginal() {
			orig = env.OriginalMessage
		}
	}
	if orig == nil {
		return nil
	}
	mr, err := orig()
	if err != nil {
		return err
	}
	walkParts(mr)
	return nil
}

// walkParts reads every part of mr to io.Discard; a damaged part is read
// as far as it goes.
func walkParts(mr *mail.Reader) error {
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		io.Copy(io.Discard, p.Body)
	}
}

// walkFloor is the floor: a generic go-message walk of every part of the
// message, no signature, no certification data. A message go-message
// cannot read to the end (a truncated multipart in the corpus) is walked
// as far as it can.
func walkFloor(raw []byte) error {
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return nil
	}
	walkParts(mr)
	return nil
}

// BenchmarkCorpusRead reads and fully verifies every corpus message once
// per operation through Read (see readFully).
func BenchmarkCorpusRead(b *testing.B) {
	files, total := loadCorpus(b)
	opts := corpusTrust(b, files)
	b.ReportAllocs()
	b.SetBytes(total)
	var before, after allocStats
	before.read()
	for b.Loop() {
		for _, f := range files {
			if err := readFully(f.raw, opts); err != nil {
				b.Fatalf("%s: %v", f.name, err)
			}
		}
	}
	after.read()
	b.ReportMetric(float64(after.bytes-before.bytes)/float64(b.N)/float64(total), "x-corpus")
}

// BenchmarkCorpusReadFiles is BenchmarkCorpusRead from the corpus files,
// opened for each read, as an archive of messages on disk is read.
func BenchmarkCorpusReadFiles(b *testing.B) {
	files, total := loadCorpus(b)
	opts := corpusTrust(b, files)
	paths := testenv.CorpusFiles(b)
	b.ReportAllocs()
	b.SetBytes(total)
	for b.Loop() {
		for _, p := range paths {
			f, err := os.Open(p)
			if err != nil {
				b.Fatal(err)
			}
			err = readFullyFrom(f, opts)
			f.Close()
			if err != nil {
				b.Fatalf("%s: %v", p, err)
			}
		}
	}
}

// BenchmarkCorpusReadmePattern is the same work done the way the README
// showed before pecmail: envelope.Parse, rewind, receipt.Parse, and the
// original walked with mail.Reader.
func BenchmarkCorpusReadmePattern(b *testing.B) {
	files, total := loadCorpus(b)
	opts := corpusTrust(b, files)
	b.ReportAllocs()
	b.SetBytes(total)
	for b.Loop() {
		for _, f := range files {
			if err := readmePattern(f.raw, opts); err != nil {
				b.Fatalf("%s: %v", f.name, err)
			}
		}
	}
}

// BenchmarkCorpusWalkFloor is the floor of BenchmarkCorpusRead:
// mail.CreateReader, NextPart and io.Copy to io.Discard of every part of
// every corpus message, no signature.
func BenchmarkCorpusWalkFloor(b *testing.B) {
	files, total := loadCorpus(b)
	b.ReportAllocs()
	b.SetBytes(total)
	for b.Loop() {
		for _, f := range files {
			if err := walkFloor(f.raw); err != nil {
				b.Fatalf("%s: %v", f.name, err)
			}
		}
	}
}

// BenchmarkCorpusReadFloorRatio times, in each iteration, one
// BenchmarkCorpusRead operation and right after it one of
// BenchmarkCorpusWalkFloor, so that both see the same load on a shared
// machine, and reports the ratio of the totals as x-floor (target ≤ 1).
func BenchmarkCorpusReadFloorRatio(b *testing.B) {
	files, total := loadCorpus(b)
	opts := corpusTrust(b, files)
	var read, floor time.Duration
	for b.Loop() {
		t0 := time.Now()
		for _, f := range files {
			if err := readFully(f.raw, opts); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		for _, f := range files {
			if err := walkFloor(f.raw); err != nil {
				b.Fatal(err)
			}
		}
		t2 := time.Now()
		read += t1.Sub(t0)
		floor += t2.Sub(t1)
	}
	if floor > 0 {
		b.ReportMetric(float64(read)/float64(floor), "x-floor")
		b.ReportMetric(float64(total)*float64(b.N)/read.Seconds()/1e6, "read-MB/s")
		b.ReportMetric(float64(total)*float64(b.N)/floor.Seconds()/1e6, "floor-MB/s")
	}
}

// BenchmarkReadSmallReceipt reads and verifies each corpus receipt of 3 to
// 10 KB: the fixed cost of a message.
func BenchmarkReadSmallReceipt(b *testing.B) {
	files, _ := loadCorpus(b)
	opts := corpusTrust(b, files)
	for _, f := range files {
		m, err := pecmail.Read(bytes.NewReader(f.raw), nil)
		if err != nil || m.PEC() == nil || !m.PEC().Kind.IsReceipt() || len(f.raw) < 3000 || len(f.raw) > 10<<10 {
			continue
		}
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(f.raw)))
			for b.Loop() {
				if err := readFully(f.raw, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// allocStats is the bytes allocated so far by the process.
type allocStats struct{ bytes uint64 }

func (s *allocStats) read() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.bytes = ms.TotalAlloc
}

// BenchmarkReadLargeEnvelope reads and verifies (chain and provider
// index) a transport envelope carrying a 10 MB original: allocations must
// stay under twice its size (x-size), the message being read in place
// and its signed content hashed as a stream. Its floor is
// BenchmarkLargeEnvelopeSHA256, the hash of the same bytes.
func BenchmarkReadLargeEnvelope(b *testing.B) {
	msg, opts := largeEnvelope(b)
	m, err := pecmail.Read(bytes.NewReader(msg), opts)
	if err != nil || !m.OK() {
		b.Fatalf("the envelope does not verify: %v, problems %v", err, m.Problems)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	var before, after allocStats
	before.read()
	for b.Loop() {
		if _, err := pecmail.Read(bytes.NewReader(msg), opts); err != nil {
			b.Fatal(err)
		}
	}
	after.read()
	b.ReportMetric(float64(after.bytes-before.bytes)/float64(b.N)/float64(len(msg)), "x-size")
}

// BenchmarkLargeEnvelopeSHA256 is the floor of BenchmarkReadLargeEnvelope:
// SHA-256 of the envelope's bytes.
func BenchmarkLargeEnvelopeSHA256(b *testing.B) {
	msg, _ := largeEnvelope(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		sha256.Sum256(msg)
	}
}

var (
	largeOnce sync.Once
	largeMsg  []byte
	largeOpts *smime.VerifyOptions
	largeErr  error
)

// largeEnvelope builds, once, a transport envelope of a 10 MB original (a
// PDF attachment in base64 lines) signed by a test provider, and the
// options that trust it.
func largeEnvelope(b *testing.B) ([]byte, *smime.VerifyOptions) {
	b.Helper()
	largeOnce.Do(func() {
		pki, err := pectest.NewPKI("Bench CA")
		if err != nil {
			largeErr = err
			return
		}
		signer, _, err := pki.NewProvider("Bench PEC S.p.A.", "posta-certificata@pec.example.it", nil)
		if err != nil {
			largeErr = err
			return
		}
		idx, err := index.New([]index.Provider{{Name: "Bench PEC S.p.A.", MailReceipt: "posta-certificata@pec.example.it",
			Domains: []string{"pec.example.it"}, Certificates: []*x509.Certificate{signer.Certificate()}}})
		if err != nil {
			largeErr = err
			return
		}
		raw := make([]byte, 10<<20*3/4)
		rand.New(rand.NewSource(1)).Read(raw)
		var orig bytes.Buffer
		orig.WriteString("From: alice@pec.example.it\r\nTo: bob@pec.example.com\r\nSubject: Fattura\r\n" +
			"Message-ID: <bench@client.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n" +
			"--b1\r\nContent-Type: text/plain\r\n\r\nIn allegato.\r\n--b1\r\nContent-Type: application/pdf; name=f.pdf\r\n" +
			"Content-Disposition: attachment; filename=f.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		enc := base64.StdEncoding.EncodeToString(raw)
		for ; len(enc) > 76; enc = enc[76:] {
			orig.WriteString(enc[:76] + "\r\n")
		}
		orig.WriteString(enc + "\r\n--b1--\r\n")
		now := time.Now()
		d := &daticert.Data{Type: pec.CertTransport, Sender: "alice@pec.example.it", ReplyTo: "alice@pec.example.it",
			Recipients: []daticert.Recipient{{Address: "bob@pec.example.com", Type: pec.RecipientCertified}},
			Subject:    "Fattura", Provider: "Bench PEC S.p.A.", Time: now,
			ID: pec.NewMsgID("pec.example.it", now), MsgID: "<bench@client.example>", ReceiptType: pec.ReceiptFull}
		var env bytes.Buffer
		if err := envelope.Build(&env, &orig, d, signer, nil); err != nil {
			largeErr = err
			return
		}
		largeMsg = env.Bytes()
		largeOpts = &smime.VerifyOptions{Roots: pki.Pool(), Authority: idx}
	})
	if largeErr != nil {
		b.Fatal(largeErr)
	}
	return largeMsg, largeOpts
}
