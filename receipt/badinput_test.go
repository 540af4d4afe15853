package receipt_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"math/rand"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pecsdk/pec/internal/mimeutil"
	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
	"github.com/pecsdk/pec/pec/smime"
	"github.com/pecsdk/pec/receipt"
	"github.com/pecsdk/pec/sample"
)

// badInputTimeout bounds each hostile input: parsing must end well within it.
const badInputTimeout = 10 * time.Second

var (
	fixtureOnce sync.Once
	fixtureSet  *sample.Set
	fixtureErr  error
)

// fixtures returns one signed message of every kind, built once per test
// binary (key generation dominates its cost).
func fixtures(tb testing.TB) *sample.Set {
	tb.Helper()
	fixtureOnce.Do(func() { fixtureSet, fixtureErr = sample.New(time.Now()) })
	if fixtureErr != nil {
		tb.Fatal(fixtureErr)
	}
	return fixtureSet
}

// part returns the entity of msg at MIME path p ("" is the message). Its
// limits are generous: the hostile messages of the tests are built with it.
// param returns the Content-Type parameter name of p, "" when absent.
func param(p *mimeutil.Part, name string) string {
	v, _ := p.Param(name)
	return v
}

func part(tb testing.TB, msg []byte, p string) *mimeutil.Part {
	tb.Helper()
	root, err := mimeutil.Scan(bytes.NewReader(msg), int64(len(msg)), &mimeutil.Limits{MaxParts: 1 << 20, MaxHeaderBytes: 8 << 20})
	if err != nil {
		tb.Fatal(err)
	}
	var found *mimeutil.Part
	root.Walk(func(q *mimeutil.Part) bool {
		if q.Path == p { // a message/rfc822 part comes before the message in it
			found = q
			return false
		}
		return true
	})
	if found == nil {
		tb.Fatalf("no part %q", p)
	}
	return found
}

// splice returns b with b[from:to] replaced by repl.
func splice(b []byte, from, to int64, repl []byte) []byte {
	out := make([]byte, 0, int64(len(b))-(to-from)+int64(len(repl)))
	out = append(out, b[:from]...)
	out = append(out, repl...)
	return append(out, b[to:]...)
}

// replaceBody replaces the raw (transfer-encoded) body of the part at path.
func replaceBody(tb testing.TB, msg []byte, path string, body []byte) []byte {
	tb.Helper()
	p := part(tb, msg, path)
	return splice(msg, p.BodyStart, p.End, body)
}

// replaceOnce replaces the first occurrence of old, which must be there.
func replaceOnce(tb testing.TB, msg []byte, old, repl string) []byte {
	tb.Helper()
	if !bytes.Contains(msg, []byte(old)) {
		tb.Fatalf("%q not in the message", old)
	}
	return bytes.Replace(msg, []byte(old), []byte(repl), 1)
}

// base64Lines encodes b in 76-character CRLF lines, as MIME writes it.
func base64Lines(b []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(b)
	var out bytes.Buffer
	for len(enc) > 76 {
		out.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	out.WriteString(enc)
	return out.Bytes()
}

// resign signs again the first part of the multipart/signed msg, as it now
// is, with s: the result has an intact signature over whatever was edited,
// so that a test isolates the defect it plants from a digest mismatch.
func resign(tb testing.TB, msg []byte, s *smime.Signer) []byte {
	tb.Helper()
	root := part(tb, msg, "")
	if len(root.Children) == 0 {
		tb.Fatal("resign: not a multipart/signed message")
	}
	content, err := io.ReadAll(root.Children[0].Raw())
	if err != nil {
		tb.Fatal(err)
	}
	var out bytes.Buffer
	w, err := s.NewWriter(&out, root.Header(), time.Time{})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := w.Write(content); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// bounded runs fn in its own goroutine and fails the test on a panic, with
// its stack, or when fn does not return within badInputTimeout.
func bounded[T any](t *testing.T, fn func() (T, error)) (T, error) {
	t.Helper()
	type outcome struct {
		v     T
		err   error
		panic any
		stack []byte
	}
	ch := make(chan outcome, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				ch <- outcome{panic: r, stack: debug.Stack()}
			}
		}()
		v, err := fn()
		ch <- outcome{v: v, err: err}
	}()
	timer := time.NewTimer(badInputTimeout)
	defer timer.Stop()
	select {
	case o := <-ch:
		if o.panic != nil {
			t.Fatalf("panic: %v\n%s", o.panic, o.stack)
		}
		return o.v, o.err
	case <-timer.C:
		t.Fatalf("no result within %v: the parser hangs", badInputTimeout)
	}
	panic("unreachable")
}

// problemIs reports whether one of problems matches target.
func problemIs(problems []error, target error) bool {
	for _, p := range problems {
		if errors.Is(p, target) {
			return true
		}
	}
	return false
}

// problemAs returns the first problem that has a T in its chain.
func problemAs[T error](problems []error) (T, bool) {
	for _, p := range problems {
		var v T
		if errors.As(p, &v) {
			return v, true
		}
	}
	var zero T
	return zero, false
}

// partProblem reports whether a problem is a *pec.ParseError about part p.
func partProblem(problems []error, p string) bool {
	for _, e := range problems {
		var pe *pec.ParseError
		if errors.As(e, &pe) && pe.Part == p {
			return true
		}
	}
	return false
}

// wantTypedError checks that err is a *pec.ParseError matching every target.
func wantTypedError(t *testing.T, err error, targets ...error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var pe *pec.ParseError
	if !errors.As(err, &pe) {
		t.Errorf("error %T is not a *pec.ParseError: %v", err, err)
	}
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Errorf("error does not match %v: %v", target, err)
		}
	}
}

// wantBrokenSignature checks that the verdict exists, is not intact and
// lists code.
func wantBrokenSignature(t *testing.T, v *smime.Verdict, code smime.ProblemCode) {
	t.Helper()
	if v == nil {
		t.Fatal("no signature verdict")
	}
	if v.Intact || v.OK() {
		t.Errorf("signature reported intact: %+v", v.Problems)
	}
	if !v.HasProblem(code) {
		t.Errorf("signature problems %v lack %s", v.Problems, code)
	}
}

// wantNoData checks that a problem about daticert.xml (part 1.2) replaced
// the certification data.
func wantNoData(t *testing.T, data *daticert.Data, problems []error) {
	t.Helper()
	if data != nil {
		t.Errorf("certification data read from a broken daticert.xml: %+v", data)
	}
	if !partProblem(problems, "1.2") {
		t.Errorf("no problem about part 1.2 (daticert.xml): %v", problems)
	}
}

// hostileXML are daticert.xml documents made to exhaust a parser.
func hostileXML() map[string][]byte {
	valid := func(subject string) string {
		return `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<postacert tipo="posta-certificata" errore="nessuno"><intestazione>` +
			`<mittente>a@b.example</mittente><destinatari tipo="certificato">c@d.example</destinatari>` +
			`<risposte>a@b.example</risposte><oggetto>` + subject + `</oggetto></intestazione>` +
			`<dati><gestore-emittente>G</gestore-emittente><data zona="+0100"><giorno>01/02/2026</giorno>` +
			`<ora>10:00:00</ora></data><identificativo>id@b.example</identificativo></dati></postacert>`
	}
	laughs := `<?xml version="1.0"?>` + "\n" + `<!DOCTYPE postacert [<!ENTITY lol "lol">`
	prev := "lol"
	for i := 1; i <= 9; i++ {
		name := "lol" + string(rune('0'+i))
		laughs += `<!ENTITY ` + name + ` "` + strings.Repeat("&"+prev+";", 10) + `">`
		prev = name
	}
	laughs += `]>` + strings.TrimPrefix(valid("&lol9;"), `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	return map[string][]byte{
		"billion laughs":     []byte(laughs),
		"10000-deep nesting": []byte(`<postacert tipo="posta-certificata">` + strings.Repeat("<x>", 10000) + strings.Repeat("</x>", 10000) + `</postacert>`),
		"2 MB of text":       []byte(valid(strings.Repeat("testo ", 2<<20/6))),
	}
}

// manyParts returns a message of n tiny parts.
func manyParts(n int) []byte {
	var b bytes.Buffer
	b.WriteString("From: a@b.example\r\nSubject: parti\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=t\r\n\r\n")
	for range n {
		b.WriteString("--t\r\n\r\nx\r\n")
	}
	b.WriteString("--t--\r\n")
	return b.Bytes()
}

// parseAll parses in and uses every accessor, as a consumer would.
func parseAll(in []byte) (*receipt.Receipt, error) {
	rc, err := receipt.Parse(bytes.NewReader(in), sampleTrust())
	if err != nil {
		return nil, err
	}
	_, _, _ = rc.Text(), rc.Subject(), rc.Err()
	if r, err := rc.Original(); err == nil {
		io.Copy(io.Discard, r)
	}
	if r, err := rc.CertData(); err == nil {
		io.Copy(io.Discard, r)
	}
	for _, h := range rc.Hashes {
		rc.CheckAttachment(h.Name, strings.NewReader("contenuto"))
	}
	return rc, nil
}

// TestBadInput feeds hostile and broken input to Parse: each must end in
// bounded time with a typed error or with problems that say what is wrong.
// The base is a delivery receipt of type completa, which has every part a
// receipt can have: text, daticert.xml, postacert.eml and smime.p7s.
func TestBadInput(t *testing.T) {
	set := fixtures(t)
	msg := set.Messages[pec.KindDelivery]
	signer := set.Recipient
	sigBody := func(b []byte) []byte { p := part(t, msg, "2"); return b[p.BodyStart:p.End] }
	certBody := part(t, msg, "1.2")
	sig := part(t, msg, "2")
	der, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(sigBody(msg))))
	if err != nil || len(der) < 500 {
		t.Fatalf("signature of the fixture: %d bytes, %v", len(der), err)
	}
	outer := param(part(t, msg, ""), "boundary")
	inner := param(part(t, msg, "1"), "boundary")
	junk := make([]byte, 1<<20)
	rand.New(rand.NewSource(1)).Read(junk)

	type check func(t *testing.T, rc *receipt.Receipt, err error)
	// truncated: a cut message is malformed and its signature never intact.
	truncated := func(t *testing.T, rc *receipt.Receipt, err error) {
		if err != nil {
			wantTypedError(t, err)
			return
		}
		if !problemIs(rc.Problems, pec.ErrMalformed) {
			t.Errorf("truncation not reported as malformed: %v", rc.Problems)
		}
		if rc.Signature != nil && rc.Signature.Intact {
			t.Error("signature of a truncated message reported intact")
		}
	}
	garbageSig := func(t *testing.T, rc *receipt.Receipt, err error) {
		if err != nil {
			t.Fatal(err)
		}
		wantBrokenSignature(t, rc.Signature, smime.ProblemMalformed)
		if rc.Data == nil || rc.Kind != pec.KindDelivery {
			t.Errorf("reading lost with the signature: kind %s, data %v", rc.Kind, rc.Data != nil)
		}
	}
	hostile := func(target error) check {
		return func(t *testing.T, rc *receipt.Receipt, err error) {
			if err != nil {
				t.Fatal(err)
			}
			if rc.Signature == nil || !rc.Signature.OK() {
				t.Fatalf("re-signed message does not verify: %+v", rc.Signature)
			}
			wantNoData(t, rc.Data, rc.Problems)
			if _, ok := problemAs[*daticert.ParseError](rc.Problems); !ok {
				t.Errorf("no *daticert.ParseError among the problems: %v", rc.Problems)
			}
			if !problemIs(rc.Problems, target) {
				t.Errorf("problems do not match %v: %v", target, rc.Problems)
			}
		}
	}
	tooMany := func(t *testing.T, rc *receipt.Receipt, err error) {
		// Either the whole parse stops at the limit or the part that
		// exceeds it is reported; both must name the limit.
		if err != nil {
			wantTypedError(t, err, mimeutil.ErrTooManyParts)
			return
		}
		if !problemIs(rc.Problems, mimeutil.ErrTooManyParts) {
			t.Errorf("part limit not reported: %v", rc.Problems)
		}
	}
	nonDelivery := set.Messages[pec.KindDeliveryError]
	short := set.Messages[pec.KindDeliveryShort]

	cases := []struct {
		name  string
		in    []byte
		check check
	}{
		{"truncated/10%", msg[:len(msg)/10], truncated},
		{"truncated/50%", msg[:len(msg)/2], truncated},
		{"truncated/90%", msg[:len(msg)*9/10], truncated},
		{"truncated/mid-base64 daticert", msg[:(certBody.BodyStart+certBody.End)/2], func(t *testing.T, rc *receipt.Receipt, err error) {
			if err != nil {
				t.Fatal(err)
			}
			truncated(t, rc, err)
			wantNoData(t, rc.Data, rc.Problems)
			if rc.Signature != nil {
				t.Errorf("a signature was read from a message cut before it: %+v", rc.Signature)
			}
		}},
		{"truncated/mid-base64 signature", msg[:(sig.BodyStart+sig.End)/2], func(t *testing.T, rc *receipt.Receipt, err error) {
			truncated(t, rc, err)
			wantBrokenSignature(t, rc.Signature, smime.ProblemMalformed)
			if !problemIs(rc.Problems, mimeutil.ErrNoClose) {
				t.Errorf("missing closing delimiter not reported: %v", rc.Problems)
			}
		}},
		{"boundary/outer never occurs", replaceOnce(t, msg, `boundary="`+outer+`"`, `boundary="nowhere"`), func(t *testing.T, rc *receipt.Receipt, err error) {
			if err != nil {
				t.Fatal(err)
			}
			if !problemIs(rc.Problems, mimeutil.ErrBoundaryAbsent) || !problemIs(rc.Problems, pec.ErrNoCertData) {
				t.Errorf("problems %v lack the absent boundary and the missing daticert.xml", rc.Problems)
			}
			if rc.Signature != nil || rc.Data != nil {
				t.Errorf("signature or data read past an absent boundary: %+v %+v", rc.Signature, rc.Data)
			}
		}},
		{"boundary/inner mismatch", replaceOnce(t, msg, "boundary="+inner, "boundary=x"+inner), func(t *testing.T, rc *receipt.Receipt, err error) {
			if err != nil {
				t.Fatal(err)
			}
			if !problemIs(rc.Problems, mimeutil.ErrBoundaryAbsent) || !problemIs(rc.Problems, pec.ErrNoCertData) {
				t.Errorf("problems %v lack the absent boundary and the missing daticert.xml", rc.Problems)
			}
			if rc.HasOriginal() || rc.Data != nil {
				t.Error("parts read past a mismatched boundary")
			}
			wantBrokenSignature(t, rc.Signature, smime.ProblemDigestMismatch)
		}},
		{"boundary/inner mismatch, re-signed", resign(t, replaceOnce(t, msg, "boundary="+inner, "boundary=x"+inner), signer), func(t *testing.T, rc *receipt.Receipt, err error) {
			if err != nil {
				t.Fatal(err)
			}
			if rc.Signature == nil || !rc.Signature.OK() {
				t.Fatalf("re-signed message does not verify: %+v", rc.Signature)
			}
			if !problemIs(rc.Problems, mimeutil.ErrBoundaryAbsent) || !problemIs(rc.Problems, pec.ErrNoCertData) {
				t.Errorf("problems %v lack the absent boundary and the missing daticert.xml", rc.Problems)
			}
		}},
		{"base64/invalid in daticert.xml", replaceBody(t, msg, "1.2", bytes.Replace(msg[certBody.BodyStart:certBody.End], []byte("PD94"), []byte("P*94"), 1)), func(t *testing.T, rc *receipt.Receipt, err error) {
			if err != nil {
				t.Fatal(err)
			}
			wantNoData(t, rc.Data, rc.Problems)
			if _, ok := problemAs[base64.CorruptInputError](rc.Problems); !ok {
				t.Errorf("no base64.CorruptInputError among the problems: %v", rc.Problems)
			}
			wantBrokenSignature(t, rc.Signature, smime.ProblemDigestMismatch)
		}},
		{"base64/invalid in smime.p7s", replaceBody(t, msg, "2", append([]byte("MII*"), sigBody(msg)[4:]...)), func(t *testing.T, rc *receipt.Receipt, err error) {
			if err != nil {
				t.Fatal(err)
			}
			wantBrokenSignature(t, rc.Signature, smime.ProblemMalformed)
			if !partProblem(rc.Problems, "2") {
				t.Errorf("no problem about part 2 (smime.p7s): %v", rc.Problems)
			}
		}},
		{"smime.p7s/random bytes", replaceBody(t, msg, "2", base64Lines(junk[:2048])), garbageSig},
		{"smime.p7s/truncated DER", replaceBody(t, msg, "2", base64Lines(der[:len(der)/2])), garbageSig},
		{"smime.p7s/DER of a certificate", replaceBody(t, msg, "2", base64Lines(set.PKI.CA.Raw)), garbageSig},
		{"smime.p7s/base64 of text", replaceBody(t, msg, "2", base64Lines([]byte("questa non è una firma\r\n"))), garbageSig},
		{"smime.p7s/empty", replaceBody(t, msg, "2", nil), func(t *testing.T, rc *receipt.Receipt, err error) {
			if err != nil {
				t.Fatal(err)
			}
			wantBrokenSignature(t, rc.Signature, smime.ProblemMalformed)
			if rc.Signature.Present {
				t.Error("an empty signature reported present")
			}
		}},
		{"daticert.xml/billion laughs", resign(t, replaceBody(t, msg, "1.2", base64Lines(hostileXML()["billion laughs"])), signer), hostile(pec.ErrMalformed)},
		{"daticert.xml/10000-deep nesting", resign(t, replaceBody(t, msg, "1.2", base64Lines(hostileXML()["10000-deep nesting"])), signer), hostile(daticert.ErrTooDeep)},
		{"daticert.xml/2 MB of text", resign(t, replaceBody(t, msg, "1.2", base64Lines(hostileXML()["2 MB of text"])), signer), hostile(pec.ErrTooLarge)},
		{"daticert.xml/hostile in a non-delivery notice", resign(t, replaceBody(t, nonDelivery, "1.2", base64Lines(hostileXML()["10000-deep nesting"])), signer), func(t *testing.T, rc *receipt.Receipt, err error) {
			if err != nil {
				t.Fatal(err)
			}
			wantNoData(t, rc.Data, rc.Problems)
			// The header still says what the notice is; the code is unknown.
			var perr *pec.Error
			if rc.Kind != pec.KindDeliveryError || !errors.As(rc.Err(), &perr) || perr.Code != "" {
				t.Errorf("kind %s, Err() %v: want a delivery-error with no code", rc.Kind, rc.Err())
			}
			if !errors.Is(rc.Err(), daticert.ErrTooDeep) {
				t.Errorf("Err() does not carry the daticert.xml problem: %v", rc.Err())
			}
		}},
		{"breve/hash part of 2 MB", resign(t, replaceBody(t, short, "1.3.2", bytes.Repeat([]byte("0123456789abcdef\r\n"), 2<<20/18)), signer), func(t *testing.T, rc *receipt.Receipt, err error) {
			if err != nil {
				t.Fatal(err)
			}
			if rc.Kind != pec.KindDeliveryShort || len(rc.Hashes) != 1 {
				t.Fatalf("kind %s with %d hashes, want delivery-short with 1", rc.Kind, len(rc.Hashes))
			}
			if n := len(rc.Hashes[0].Hex); n > 1024 {
				t.Errorf("hash of %d characters kept: the hash part is not bounded", n)
			}
			if ok, _ := rc.CheckAttachment(rc.Hashes[0].Name, strings.NewReader("x")); ok {
				t.Error("a junk hash matched")
			}
		}},
		{"empty", []byte{}, func(t *testing.T, rc *receipt.Receipt, err error) {
			wantTypedError(t, err, pec.ErrMalformed)
		}},
		{"plain e-mail", []byte(sample.Ordinary), func(t *testing.T, rc *receipt.Receipt, err error) {
			wantTypedError(t, err, pec.ErrNotPEC)
		}},
		{"envelope, not a receipt", set.Messages[pec.KindTransport], func(t *testing.T, rc *receipt.Receipt, err error) {
			if !errors.Is(err, receipt.ErrNotReceipt) {
				t.Errorf("error %v, want ErrNotReceipt", err)
			}
		}},
		{"binary junk", junk, func(t *testing.T, rc *receipt.Receipt, err error) {
			wantTypedError(t, err)
			if !errors.Is(err, pec.ErrNotPEC) && !errors.Is(err, pec.ErrMalformed) {
				t.Errorf("error matches neither ErrNotPEC nor ErrMalformed: %v", err)
			}
		}},
		{"header line of 2 MB", append([]byte("X-Riempitivo: "+strings.Repeat("a", 2<<20)+"\r\n"), msg...), func(t *testing.T, rc *receipt.Receipt, err error) {
			wantTypedError(t, err, mimeutil.ErrHeaderTooLarge)
		}},
		{"100000 tiny parts in postacert.eml", resign(t, replaceBody(t, msg, "1.3", manyParts(100000)), signer), tooMany},
		{"100000 tiny parts at the top", append([]byte("X-Ricevuta: avvenuta-consegna\r\n"), manyParts(100000)...), tooMany},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc, err := bounded(t, func() (*receipt.Receipt, error) { return parseAll(tc.in) })
			if err == nil && rc == nil {
				t.Fatal("nil receipt without an error")
			}
			tc.check(t, rc, err)
		})
	}
}
