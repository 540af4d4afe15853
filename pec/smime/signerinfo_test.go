package smime

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message"
)

// generalPath reads b as parseSignature did before the shortcut:
// encoding/asn1 and the CMS library only.
func generalPath(b []byte) (*cmsSignature, *Problem) {
	sig, prob := readSignature(b, parseSignedDataASN1)
	if prob != nil {
		return sig, prob
	}
	return sig, sig.readSigners()
}

// compareSignerPaths checks that when the shortcut reads signature b, the
// general path reads the same fields, signs the same bytes and reaches the
// same verdict, with the digests the signature claims and with others.
func compareSignerPaths(t *testing.T, b []byte) (fast bool) {
	t.Helper()
	compareSignedData(t, b)
	sig, prob := parseSignature(b)
	if sig == nil || sig.fast == nil {
		return false
	}
	if prob != nil {
		t.Fatalf("shortcut taken with a problem: %v", prob)
	}
	gen, gprob := generalPath(b)
	if gprob != nil {
		t.Fatalf("shortcut read what the general path refuses: %v", gprob)
	}
	if !equalHashes(sig.hashes, gen.hashes) || !sameCert(sig.signer, gen.signer) || sig.signedAttrs != gen.signedAttrs ||
		sig.sigAlg != gen.sigAlg || sig.algorithm != gen.algorithm || sig.legacy != gen.legacy ||
		!sig.signingTime.Equal(gen.signingTime) {
		t.Fatalf("fields differ: shortcut %v %v %v %s %v, general %v %v %v %s %v", sig.hashes, sig.signer != nil,
			sig.sigAlg, sig.algorithm, sig.signingTime, gen.hashes, gen.signer != nil, gen.sigAlg, gen.algorithm, gen.signingTime)
	}
	if len(sig.fast) != len(gen.p7.Signers) {
		t.Fatalf("%d signers, general %d", len(sig.fast), len(gen.p7.Signers))
	}
	good := map[crypto.Hash][]byte{}
	bad := map[crypto.Hash][]byte{}
	for i, f := range sig.fast {
		si := gen.p7.Signers[i]
		attrs, err := marshalAttributeSet(si.AuthenticatedAttributes)
		if err != nil || len(attrs) != len(f.signedAttrs) || attrs[0] != 0x31 || !bytes.Equal(attrs[1:], f.signedAttrs[1:]) {
			t.Fatalf("signer %d: signed attributes % x, general path signs % x (%v)", i, f.signedAttrs, attrs, err)
		}
		if !bytes.Equal(f.signature, si.EncryptedDigest) || !bytes.Equal(f.issuer, si.IssuerAndSerialNumber.IssuerName.FullBytes) ||
			f.serial.Cmp(si.IssuerAndSerialNumber.SerialNumber) != 0 || !f.sigOID.Equal(si.DigestEncryptionAlgorithm.Algorithm) {
			t.Fatalf("signer %d: fields differ", i)
		}
		if _, ok := good[f.hash]; !ok {
			good[f.hash] = f.digest
			bad[f.hash] = append([]byte{1}, f.digest...)
		}
	}
	for _, d := range []map[crypto.Hash][]byte{good, bad} {
		// Fresh readings: check changes what it is given.
		s1, _ := parseSignature(b)
		s2, _ := generalPath(b)
		p1, p2 := s1.check(d), s2.check(d)
		if (p1 == nil) != (p2 == nil) || p1 != nil && *p1 != *p2 {
			t.Fatalf("verdicts differ: shortcut %v, general %v", p1, p2)
		}
	}
	return true
}

// sameCert compares certificates by their encoding: the parsed ones are
// shared, but the cache may have dropped one between two readings.
func sameCert(a, b *x509.Certificate) bool {
	return a == nil && b == nil || a != nil && b != nil && bytes.Equal(a.Raw, b.Raw)
}

// compareSignedData checks that when the shortcut reads the SignedData
// of b, encoding/asn1 reads the same.
func compareSignedData(t *testing.T, b []byte) {
	t.Helper()
	der, err := toDER(b)
	if err != nil {
		return
	}
	fast, ok := fastSignedData(der)
	if !ok {
		return
	}
	gen, err := parseSignedDataASN1(der)
	if err != nil {
		t.Fatalf("shortcut read a SignedData encoding/asn1 refuses: %v", err)
	}
	if (fast.certificates == nil) != (gen.certificates == nil) || !bytes.Equal(fast.certificates, gen.certificates) ||
		!bytes.Equal(fast.signerInfos, gen.signerInfos) || fast.content != nil || gen.content != nil {
		t.Fatalf("SignedData differs: shortcut %x %x, general %x %x %x", fast.certificates, fast.signerInfos,
			gen.certificates, gen.signerInfos, gen.content)
	}
}

func equalHashes(a, b []crypto.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// signerInfoBases are signatures the edits of FuzzSignerInfos apply to:
// the synthetic seeds of FuzzVerify, crafted ones (craftedSignatures), and
// the signatures of the corpus when it is there.
func signerInfoBases(t testing.TB) [][]byte {
	var out [][]byte
	files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzVerify", "synthetic-*"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) != 3 {
			continue
		}
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[2], "[]byte("), ")"))
		if err == nil && len(s) > 0 {
			out = append(out, []byte(s))
		}
	}
	for _, c := range craftedSignatures(t) {
		out = append(out, c.sig)
	}
	return append(out, corpusSignatures(t)...)
}

// corpusSignatures returns the smime.p7s of every corpus message.
func corpusSignatures(t testing.TB) [][]byte {
	names, _ := filepath.Glob(filepath.Join("../../../shared/corpus", "*.eml"))
	var out [][]byte
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		e, err := message.Read(f)
		if err == nil {
			e.Walk(func(_ []int, p *message.Entity, _ error) error {
				if t, _, _ := p.Header.ContentType(); strings.HasSuffix(t, "pkcs7-signature") {
					if b, err := io.ReadAll(p.Body); err == nil && len(b) > 0 {
						out = append(out, b)
					}
				}
				return nil
			})
		}
		f.Close()
	}
	return out
}

var crafted struct {
	once sync.Once
	key  *rsa.PrivateKey
	cert *x509.Certificate
	err  error
}

// craftedContent is what the crafted signatures sign.
var craftedContent = []byte("Content-Type: text/plain\r\n\r\nciao\r\n")

type craftedCase struct {
	name string
	sig  []byte
	want ProblemCode // "" for intact
}

// craftedSignatures are signatures of craftedContent whose signed
// attributes take the forms the shortcut leaves to the general path.
func craftedSignatures(t testing.TB) []craftedCase {
	crafted.once.Do(func() {
		crafted.key, crafted.err = rsa.GenerateKey(rand.Reader, 2048)
		if crafted.err != nil {
			return
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "crafted"},
			NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &crafted.key.PublicKey, crafted.key)
		if err == nil {
			crafted.cert, err = x509.ParseCertificate(der)
		}
		crafted.err = err
	})
	if crafted.err != nil {
		t.Fatal(crafted.err)
	}
	sum := sha256.Sum256(craftedContent)
	oid := func(o asn1.ObjectIdentifier) []byte { b, _ := asn1.Marshal(o); return b }
	attr := func(o asn1.ObjectIdentifier, values ...[]byte) []byte {
		return der(tagSequence, oid(o), der(tagSet, values...))
	}
	md, _ := asn1.Marshal(sum[:])
	st, _ := asn1.Marshal(time.Date(2025, 6, 3, 8, 0, 0, 0, time.UTC))
	ct := attr(oidAttrContentType, oid(oidData))
	stA := attr(oidAttrSigningTime, st)
	mdA := attr(oidAttrDigest, md)
	sorted := func(a ...[]byte) [][]byte { return sortedSet(a) }
	reversed := func(a ...[]byte) [][]byte {
		s := sortedSet(a)
		for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
			s[i], s[j] = s[j], s[i]
		}
		return s
	}
	mk := func(attrs [][]byte, signOver [][]byte, extra ...[]byte) []byte {
		return craftSignature(t, attrs, signOver, extra...)
	}
	withJunk := der(tagSequence, oid(oidAttrSigningTime), der(tagSet, st), []byte{5, 0})
	otherMD, _ := asn1.Marshal(bytes.Repeat([]byte{1}, 32))
	return []craftedCase{
		{"sorted", mk(sorted(ct, stA, mdA), nil), ""},
		{"unsorted signed as carried", mk(reversed(ct, stA, mdA), nil), ProblemBadSignature},
		{"unsorted signed sorted", mk(reversed(ct, stA, mdA), sorted(ct, stA, mdA)), ""},
		{"attribute with a third element", mk(sorted(ct, withJunk, mdA), nil), ProblemBadSignature},
		{"messageDigest twice", mk(sorted(ct, stA, mdA, attr(oidAttrDigest, otherMD)), nil), ProblemDigestMismatch},
		{"messageDigest with two values", mk(sorted(ct, stA, attr(oidAttrDigest, md, otherMD)), nil), ""},
		{"no messageDigest", mk(sorted(ct, stA), nil), ProblemMalformed},
		{"no contentType", mk(sorted(stA, mdA), nil), ProblemMalformed},
		{"contentType not data", mk(sorted(attr(oidAttrContentType, oid(oidSignedData)), stA, mdA), nil), ProblemMalformed},
		{"wrong digest", mk(sorted(ct, stA, attr(oidAttrDigest, otherMD)), nil), ProblemDigestMismatch},
		{"trailing SignerInfo field", mk(sorted(ct, stA, mdA), nil, []byte{5, 0}), ""},
	}
}

// craftSignature signs attrs (in the order given, or signOver when not
// nil) with the crafted key and returns the SignedData, extra appended to
// its SignerInfo.
func craftSignature(t testing.TB, attrs, signOver [][]byte, extra ...[]byte) []byte {
	if signOver == nil {
		signOver = attrs
	}
	h := sha256.Sum256(der(tagSet, signOver...))
	s, err := rsa.SignPKCS1v15(rand.Reader, crafted.key, crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := asn1.Marshal(crafted.cert.SerialNumber)
	digestAlg := algorithmIdentifier(oidSHA256, nil)
	fields := [][]byte{derVersion1, der(tagSequence, crafted.cert.RawIssuer, serial), digestAlg,
		der(tagContext0, attrs...), algorithmIdentifier(oidRSAEncryption, derNull), der(tagOctetString, s)}
	signerInfo := der(tagSequence, append(fields, extra...)...)
	data, _ := asn1.Marshal(oidData)
	signedData := der(tagSequence, derVersion1, der(tagSet, digestAlg), der(tagSequence, data),
		der(tagContext0, crafted.cert.Raw), der(tagSet, signerInfo))
	sdOID, _ := asn1.Marshal(oidSignedData)
	return der(tagSequence, sdOID, der(tagContext0, signedData))
}

// TestSignerInfoShortcut checks the crafted signatures: the verdict is
// the one expected and the general path's, whichever path read them; the
// plain one takes the shortcut, and so do the corpus signatures.
func TestSignerInfoShortcut(t *testing.T) {
	for _, c := range craftedSignatures(t) {
		t.Run(c.name, func(t *testing.T) {
			v, err := Verify(bytes.NewReader(craftedContent), c.sig, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got ProblemCode
			if len(v.Problems) > 0 {
				got = v.Problems[0].Code
			}
			if got != c.want || v.Intact != (c.want == "") {
				t.Fatalf("verdict %v (intact %v), want %q", v.Problems, v.Intact, c.want)
			}
			gen, prob := generalPath(c.sig)
			if prob == nil {
				sum := sha256.Sum256(craftedContent)
				prob = gen.check(map[crypto.Hash][]byte{crypto.SHA256: sum[:]})
			}
			if prob == nil && got != "" || prob != nil && prob.Code != got {
				t.Fatalf("general path: %v, verdict %v", prob, v.Problems)
			}
			// The shortcut reads the plain form only (a wrong digest is
			// found by its check, then told by the general path).
			fast := compareSignerPaths(t, c.sig)
			if fast != (c.name == "sorted" || c.name == "wrong digest") {
				t.Fatalf("shortcut taken: %v", fast)
			}
		})
	}
	sigs := corpusSignatures(t)
	if len(sigs) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("corpus absent")
		}
		t.Skip("corpus absent")
	}
	for i, b := range sigs {
		if !compareSignerPaths(t, b) {
			t.Errorf("corpus signature %d: not read by the shortcut", i)
		}
		if der, err := toDER(b); err != nil {
			t.Errorf("corpus signature %d: %v", i, err)
		} else if _, ok := fastSignedData(der); !ok {
			t.Errorf("corpus signature %d: SignedData not read by the shortcut", i)
		}
	}
}

// FuzzSignerInfos edits a few octets of real and crafted signatures:
// whenever the shortcut reads one, the general path must read the same
// fields, sign the same bytes and reach the same verdict. Each edit is
// three octets: a position (two octets, modulo the length), and the octet
// written there.
func FuzzSignerInfos(f *testing.F) {
	bases := signerInfoBases(f)
	f.Add(uint8(0), []byte{})
	f.Add(uint8(1), []byte{0, 10, 0x31})
	f.Add(uint8(2), []byte{1, 0, 0x80, 1, 1, 0xa1})
	f.Fuzz(func(t *testing.T, base uint8, edits []byte) {
		b := bytes.Clone(bases[int(base)%len(bases)])
		for ; len(edits) >= 3; edits = edits[3:] {
			b[(int(edits[0])<<8|int(edits[1]))%len(b)] = edits[2]
		}
		compareSignerPaths(t, b)
		Verify(bytes.NewReader(craftedContent), b, nil)
	})
}
