package receipt_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pecsdk/pec/internal/tamper"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/receipt"
	"github.com/pecsdk/pec/sample"
)

// These tests forge receipts from genuine, provider-signed ones by
// rewriting what lies outside the signature: the kind (and so the
// recipient's state in a tracker) must follow the signed daticert.xml only.

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

func TestForgedReceiptHeaders(t *testing.T) {
	set := fixtures(t)
	for _, tc := range []struct {
		name  string
		from  pec.Kind
		forge func([]byte) []byte
		want  pec.Kind // what the signed daticert says
	}{
		{"virus-header-on-non-delivery", pec.KindDeliveryError, func(b []byte) []byte {
			return setHeader(t, b, pec.HeaderSecurityCheck, pec.SecurityCheckError)
		}, pec.KindDeliveryError},
		{"virus-header-on-non-acceptance", pec.KindNonAcceptance, func(b []byte) []byte {
			return setHeader(t, b, pec.HeaderSecurityCheck, pec.SecurityCheckError)
		}, pec.KindNonAcceptance},
		{"acceptance-as-delivery", pec.KindAcceptance, func(b []byte) []byte {
			return setHeader(t, b, pec.HeaderReceipt, string(pec.NoticeDelivery))
		}, pec.KindAcceptance},
		{"non-delivery-as-delivery", pec.KindDeliveryError, func(b []byte) []byte {
			return setHeader(t, b, pec.HeaderReceipt, string(pec.NoticeDelivery))
		}, pec.KindDeliveryError},
		{"take-in-charge-as-delivery", pec.KindTakeInCharge, func(b []byte) []byte {
			return setHeader(t, b, pec.HeaderReceipt, string(pec.NoticeDelivery))
		}, pec.KindTakeInCharge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			genuine := set.Messages[tc.from]
			rc, err := receipt.Parse(bytes.NewReader(genuine), trusted(t, set))
			if err != nil || !rc.OK() || rc.Kind != tc.from {
				t.Fatalf("genuine %s: %v, kind %v, problems %v", tc.from, err, rc.Kind, rc.Problems)
			}
			rc, err = receipt.Parse(bytes.NewReader(tc.forge(genuine)), trusted(t, set))
			if err != nil {
				t.Fatal(err)
			}
			if !rc.Signature.OK() {
				t.Fatalf("the signature is untouched and should verify: %v", rc.Signature.Problems)
			}
			if rc.Kind != tc.want {
				t.Errorf("kind %s, the signed daticert says %s", rc.Kind, tc.want)
			}
			if rc.OK() {
				t.Errorf("OK with an unsigned header the signed content contradicts")
			}
			if !errors.Is(rc.Err(), pec.ErrUnsignedClaim) {
				t.Errorf("problems %v lack %v", rc.Problems, pec.ErrUnsignedClaim)
			}
			if rc.Error != nil && rc.Error.Code == pec.ErrorVirus {
				t.Errorf("error code virus from an unsigned header")
			}
		})
	}
}

// TestGenuineVirusNotices: the virus variants, said by the signed
// daticert, stay what they are.
func TestGenuineVirusNotices(t *testing.T) {
	set := fixtures(t)
	for _, k := range []pec.Kind{pec.KindNonAcceptanceVirus, pec.KindDeliveryErrorVirus} {
		rc, err := receipt.Parse(bytes.NewReader(set.Messages[k]), trusted(t, set))
		if err != nil || !rc.OK() || rc.Kind != k {
			t.Fatalf("%s: %v, kind %v, problems %v", k, err, rc.Kind, rc.Problems)
		}
		// Without the header, the signed data still says virus.
		rc, err = receipt.Parse(bytes.NewReader(setHeader(t, set.Messages[k], pec.HeaderSecurityCheck, "")), trusted(t, set))
		if err != nil || !rc.OK() || rc.Kind != k {
			t.Fatalf("%s without %s: %v, kind %v, problems %v", k, pec.HeaderSecurityCheck, err, rc.Kind, rc.Problems)
		}
	}
}

// TestReceiptFromFailsClosed: a genuine receipt whose From is removed or
// unparseable is not OK.
func TestReceiptFromFailsClosed(t *testing.T) {
	set := fixtures(t)
	for _, from := range []string{"", "posta-certificata@pec.destinatario.example (x", "posta-certificata@pec.destinatario.example."} {
		rc, err := receipt.Parse(bytes.NewReader(setHeader(t, set.Messages[pec.KindDelivery], "From", from)), trusted(t, set))
		if err != nil {
			t.Fatal(err)
		}
		if rc.OK() || rc.Signature.FromMatches == nil || *rc.Signature.FromMatches {
			t.Errorf("From %q: OK %v, FromMatches %v", from, rc.OK(), rc.Signature.FromMatches)
		}
	}
}

// TestForgedBreveHashes: a ".hash" part the sender wrote — in a completa
// receipt, or inside a message the sender attached to a breve one — never
// vouches for a document.
func TestForgedBreveHashes(t *testing.T) {
	set := fixtures(t)
	opts := trusted(t, set)
	forged := []byte("%PDF-1.4 contratto con clausole mai inviate\n")
	sum := sha1.Sum(forged)
	hashPart := "Content-Type: text/plain; name=\"contratto.pdf.hash\"\r\nContent-Disposition: attachment; filename=\"contratto.pdf.hash\"\r\n\r\n" +
		hex.EncodeToString(sum[:]) + "\r\n"
	head := "From: Alice <" + sample.Alice + ">\r\nTo: " + sample.Bob + "\r\nSubject: " + set.Envelope.Subject + "\r\n" +
		"Message-ID: <" + set.Envelope.ID + ">\r\nMIME-Version: 1.0\r\n"
	build := func(k pec.Kind, rt pec.ReceiptType, orig string) *receipt.Receipt {
		t.Helper()
		d := receipt.NewData(k, set.Envelope, sample.RecipientProvider, set.Envelope.Time.Add(3*time.Second), []string{sample.Bob}, "")
		d.ReceiptType = rt
		var b bytes.Buffer
		if err := receipt.Build(&b, k, d, set.Recipient, &receipt.Options{Original: strings.NewReader(orig)}); err != nil {
			t.Fatal(err)
		}
		rc, err := receipt.Parse(bytes.NewReader(b.Bytes()), opts)
		if err != nil {
			t.Fatal(err)
		}
		return rc
	}
	t.Run("completa-with-a-hash-attachment", func(t *testing.T) {
		orig := head + "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nIn allegato.\r\n--b1\r\n" + hashPart + "--b1--\r\n"
		rc := build(pec.KindDelivery, pec.ReceiptFull, orig)
		if rc.Kind != pec.KindDelivery || len(rc.Hashes) != 0 {
			t.Fatalf("kind %s, hashes %v: a completa receipt read as breve", rc.Kind, rc.Hashes)
		}
		if ok, err := rc.CheckAttachment("contratto.pdf", bytes.NewReader(forged)); ok || err == nil {
			t.Fatalf("CheckAttachment vouched for a document never sent: %v %v", ok, err)
		}
	})
	t.Run("breve-with-a-hash-inside-an-attached-message", func(t *testing.T) {
		real := []byte("%PDF-1.4 il contratto vero\n")
		orig := head + "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nIn allegato.\r\n" +
			"--b1\r\nContent-Type: message/global\r\n\r\nContent-Type: multipart/mixed; boundary=\"b2\"\r\n\r\n--b2\r\n" + hashPart + "--b2--\r\n" +
			"--b1\r\nContent-Type: application/pdf; name=\"contratto.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
			base64.StdEncoding.EncodeToString(real) + "\r\n--b1--\r\n"
		rc := build(pec.KindDeliveryShort, pec.ReceiptShort, orig)
		if ok, err := rc.CheckAttachment("contratto.pdf", bytes.NewReader(forged)); ok {
			t.Fatalf("the forged document passes: %v (hashes %v)", err, rc.Hashes)
		}
		if ok, err := rc.CheckAttachment("contratto.pdf", bytes.NewReader(real)); !ok || err != nil {
			t.Fatalf("the real document: %v %v (hashes %v)", ok, err, rc.Hashes)
		}
	})
}

// TestUnsignedPartsAroundTheSignature: parts added outside the signature
// (a third part of multipart/signed, or an outer multipart around it) make
// the message not OK, however genuine the signed part.
func TestUnsignedPartsAroundTheSignature(t *testing.T) {
	set := fixtures(t)
	genuine := set.Messages[pec.KindDelivery]
	end := bytes.Index(genuine, []byte("\r\n\r\n"))
	hdr, body := genuine[:end+2], genuine[end+4:]
	ct := regexp.MustCompile(`(?is)Content-Type: multipart/signed;.*?boundary="([^"]+)"\r\n`)
	m := ct.FindSubmatch(hdr)
	if m == nil {
		t.Fatal("no multipart/signed boundary")
	}
	boundary := string(m[1])
	extra := "Content-Type: text/plain; name=\"IBAN.txt\"\r\n\r\nIBAN IT00 X000 0000 0000 0000 0000 000\r\n"
	third := bytes.Replace(genuine, []byte("--"+boundary+"--"), []byte("--"+boundary+"\r\n"+extra+"--"+boundary+"--"), 1)
	outerHdr := ct.ReplaceAll(hdr, []byte("Content-Type: multipart/mixed; boundary=\"outer\"\r\n"))
	outer := append(append([]byte{}, outerHdr...), []byte("\r\n--outer\r\n"+extra+"--outer\r\n")...)
	outer = append(outer, m[0]...)
	outer = append(outer, []byte("\r\n")...)
	outer = append(outer, body...)
	outer = append(outer, []byte("\r\n--outer--\r\n")...)
	for name, b := range map[string][]byte{"third-part": third, "outer-mixed": outer} {
		t.Run(name, func(t *testing.T) {
			rc, err := receipt.Parse(bytes.NewReader(b), trusted(t, set))
			if err != nil {
				t.Fatal(err)
			}
			if rc.OK() || !errors.Is(rc.Err(), pec.ErrUnsignedClaim) {
				t.Fatalf("OK %v with unsigned parts: %v", rc.OK(), rc.Problems)
			}
		})
	}
}
