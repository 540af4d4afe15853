package smime

// This file is the only one that knows the CMS library. Signing and
// verification deliberately take different roads:
//
//   - Signing is built here, with encoding/asn1 and a few DER helpers,
//     because a PEC provider signs messages of up to tens of megabytes as it
//     streams them (the digest is computed while the content is written, the
//     content is never held in memory), and because the private key is a
//     crypto.Signer that may live in an HSM (PEC.md §12.1). The library's
//     signer wants the whole content as a []byte, copies it, and cannot sign
//     a precomputed digest.
//   - Verification uses github.com/smallstep/pkcs7 for its verifier only:
//     its Verify checks the messageDigest attribute and the signature
//     value. The content is never handed to it: its Hasher hook returns the
//     digest that Verify computed while streaming the content.
//   - Reading a signature does not go through the library's Parse. Parse
//     re-encodes every input, DER or not, through a tree of one node per
//     element (ber2der): after each element of an indefinite-length one it
//     searches the rest of the input for the end-of-contents (quadratic:
//     250,000 small elements took 40 s), each level of nesting copies its
//     contents into a buffer of its own (memory times the depth: 1 MiB
//     nested 60 deep allocated 75 MB), and DER input, which every real
//     provider signature is, pays for the tree and the copies all the
//     same. Nothing in its API avoids that. So parseSignature takes a DER
//     signature as it is (one walk checks it: isDER) and converts BER to
//     DER itself in two linear passes (berToDER, ber.go); both bound the
//     nesting and the conversion bounds the number of elements. It then
//     decodes the fields verification reads with encoding/asn1
//     (parseSignedData, der.go), after counting the certificates, signers
//     and attributes against their bounds, and fills the library's PKCS7
//     value; encoding/asn1 decodes the SignerInfos straight into the
//     library's own type. The cost of reading any signature is linear in
//     its size, in time and memory, and a DER one is copied once.
//   - The SignerInfos of the usual form (every real provider's) are read
//     and checked without encoding/asn1 and the library: signerinfo.go
//     reads them with cryptobyte and checks the signature over the signed
//     attributes as carried, in the one form where that is what the
//     library checks. Anything else, and any failed check, goes the way
//     described above, which says why.
//
// Swapping the library means rewriting parseSignature and (*cmsSignature).check.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/smallstep/pkcs7"
)

// Object identifiers (RFC 5652 §5, §11; RFC 3370; RFC 5754; RFC 5758).
var (
	oidData             = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidAttrContentType  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrDigest       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningTime  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidRSAEncryption    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSHA1             = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256           = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384           = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512           = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidECDSAWithSHA1    = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}
	oidECDSAWithSHA256  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidSHA1WithRSA      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	oidSHA256WithRSA    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECPublicKey      = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	digestOIDs          = map[crypto.Hash]asn1.ObjectIdentifier{crypto.SHA1: oidSHA1, crypto.SHA256: oidSHA256, crypto.SHA384: oidSHA384, crypto.SHA512: oidSHA512}
	ecdsaSignatureOIDs  = map[crypto.Hash]asn1.ObjectIdentifier{crypto.SHA1: oidECDSAWithSHA1, crypto.SHA256: oidECDSAWithSHA256, crypto.SHA384: oidECDSAWithSHA384, crypto.SHA512: oidECDSAWithSHA512}
	rsaWithHashOIDs     = map[crypto.Hash]asn1.ObjectIdentifier{crypto.SHA1: oidSHA1WithRSA, crypto.SHA256: oidSHA256WithRSA, crypto.SHA384: oidSHA384WithRSA, crypto.SHA512: oidSHA512WithRSA}
	derNull             = []byte{0x05, 0x00}
	derVersion1         = []byte{0x02, 0x01, 0x01}
	tagSequence         = byte(0x30)
	tagSet              = byte(0x31)
	tagOctetString      = byte(0x04)
	tagContext0         = byte(0xa0) // [0] constructed
	errUnknownDigestOID = errors.New("smime: unknown digest algorithm")
)

// buildSignedData returns the DER of a ContentInfo holding a CMS SignedData
// (RFC 5652 §5.1) with one SignerInfo: version 1, issuerAndSerialNumber,
// signed attributes contentType, signingTime and messageDigest, signed by
// key over the DER SET OF those attributes (§5.4). When content is nil the
// signature is detached (no eContent); otherwise content is encapsulated.
func buildSignedData(key crypto.Signer, chain []*x509.Certificate, h crypto.Hash, digest []byte, signingTime time.Time, content []byte) ([]byte, error) {
	cert := chain[0]
	digestAlg := algorithmIdentifier(digestOIDs[h], nil)
	sigAlg, err := signatureAlgorithm(cert.PublicKey, h)
	if err != nil {
		return nil, err
	}
	attrs, err := signedAttributes(digest, signingTime)
	if err != nil {
		return nil, err
	}
	hh := h.New()
	hh.Write(attrs)
	sig, err := key.Sign(randReader, hh.Sum(nil), h)
	if err != nil {
		return nil, fmt.Errorf("smime: signing: %w", err)
	}
	serial, err := asn1.Marshal(cert.SerialNumber)
	if err != nil {
		return nil, fmt.Errorf("smime: certificate serial: %w", err)
	}
	// The signed attributes are signed as an explicit SET OF and carried
	// as [0] IMPLICIT: only the tag octet differs (RFC 5652 §5.4).
	implicitAttrs := append([]byte{tagContext0}, attrs[1:]...)
	signerInfo := der(tagSequence,
		derVersion1,
		der(tagSequence, cert.RawIssuer, serial),
		digestAlg,
		implicitAttrs,
		sigAlg,
		der(tagOctetString, sig),
	)
	oid, _ := asn1.Marshal(oidData)
	encap := der(tagSequence, oid)
	if content != nil {
		encap = der(tagSequence, oid, der(tagContext0, der(tagOctetString, content)))
	}
	certs := make([][]byte, len(chain))
	for i, c := range chain {
		certs[i] = c.Raw
	}
	// The certificates stay in chain order, signer first, as every real
	// PEC signature has them (PEC.md §12.1) and as simple consumers expect,
	// rather than in the DER order of a SET OF: verifiers locate the signer
	// by issuerAndSerialNumber either way.
	signedData := der(tagSequence,
		derVersion1,
		der(tagSet, digestAlg),
		encap,
		der(tagContext0, certs...),
		der(tagSet, signerInfo),
	)
	sdOID, _ := asn1.Marshal(oidSignedData)
	return der(tagSequence, sdOID, der(tagContext0, signedData)), nil
}

// signedAttributes returns the DER SET OF the three signed attributes,
// sorted as DER requires (X.690 §11.6).
func signedAttributes(digest []byte, signingTime time.Time) ([]byte, error) {
	if signingTime.IsZero() {
		signingTime = time.Now()
	}
	// DER UTCTime/GeneralizedTime: UTC, whole seconds, "Z" (RFC 5652 §11.3;
	// encoding/asn1 picks GeneralizedTime outside 1950–2049).
	st, err := asn1.Marshal(signingTime.UTC().Truncate(time.Second))
	if err != nil {
		return nil, fmt.Errorf("smime: signing time: %w", err)
	}
	md, _ := asn1.Marshal(digest)
	data, _ := asn1.Marshal(oidData)
	attr := func(oid asn1.ObjectIdentifier, value []byte) []byte {
		o, _ := asn1.Marshal(oid)
		return der(tagSequence, o, der(tagSet, value))
	}
	return der(tagSet, sortedSet([][]byte{
		attr(oidAttrContentType, data),
		attr(oidAttrSigningTime, st),
		attr(oidAttrDigest, md),
	})...), nil
}

// signatureAlgorithm returns the DER AlgorithmIdentifier of the SignerInfo
// signatureAlgorithm: rsaEncryption with NULL parameters for RSA (as real
// PEC providers and OpenSSL emit), ecdsa-with-SHAxxx without parameters for
// ECDSA (RFC 5753 §2.1.1).
func signatureAlgorithm(pub crypto.PublicKey, h crypto.Hash) ([]byte, error) {
	switch pub.(type) {
	case *rsa.PublicKey:
		return algorithmIdentifier(oidRSAEncryption, derNull), nil
	case *ecdsa.PublicKey:
		return algorithmIdentifier(ecdsaSignatureOIDs[h], nil), nil
	}
	return nil, ErrUnsupportedKey
}

func algorithmIdentifier(oid asn1.ObjectIdentifier, params []byte) []byte {
	o, _ := asn1.Marshal(oid)
	if params == nil {
		return der(tagSequence, o)
	}
	return der(tagSequence, o, params)
}

// der returns the DER TLV with the given one-octet tag and the concatenated
// contents.
func der(tag byte, contents ...[]byte) []byte {
	n := 0
	for _, c := range contents {
		n += len(c)
	}
	out := make([]byte, 0, n+6)
	out = append(out, tag)
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	default:
		var l [8]byte
		i := len(l)
		for v := n; v > 0; v >>= 8 {
			i--
			l[i] = byte(v)
		}
		out = append(out, 0x80|byte(len(l)-i))
		out = append(out, l[i:]...)
	}
	for _, c := range contents {
		out = append(out, c...)
	}
	return out
}

// sortedSet orders the encodings of SET OF elements as DER requires.
func sortedSet(elems [][]byte) [][]byte {
	s := append([][]byte(nil), elems...)
	sort.SliceStable(s, func(i, j int) bool { return bytes.Compare(s[i], s[j]) < 0 })
	return s
}

// cmsSignature is a parsed detached signature.
type cmsSignature struct {
	p7          *pkcs7.PKCS7
	certs       []*x509.Certificate
	signer      *x509.Certificate // nil when no certificate matches the first signer
	hashes      []crypto.Hash     // digest algorithm of each signer, in order
	sigAlg      x509.SignatureAlgorithm
	algorithm   string // "sha256-rsa"
	legacy      bool
	signingTime time.Time
	signedAttrs bool
	ber         bool // the signature was not exactly one DER element
	// encapsulated is the eContent, nil for a detached signature.
	encapsulated []byte
	// fast holds the SignerInfos as fastSignerInfos read them, when it
	// could (nil otherwise, and p7.Signers holds them); signerInfos is
	// their SET, read by encoding/asn1 when the general path must decide.
	fast        []fastSigner
	signerInfos []byte
}

// content returns the encapsulated content, nil when detached.
func (sig *cmsSignature) content() []byte { return sig.encapsulated }

// parseSignature parses a CMS SignedData in DER or BER. A problem says why
// it cannot be used; the signature may still carry certificates.
func parseSignature(b []byte) (sig *cmsSignature, prob *Problem) {
	sig, prob = readSignature(b, parseSignedData)
	if prob != nil {
		return sig, prob
	}
	defer func() {
		if r := recover(); r != nil {
			sig, prob = nil, &Problem{Code: ProblemMalformed, Detail: fmt.Sprintf("CMS decoder failure: %v", r)}
		}
	}()
	if fast, ok := fastSignerInfos(sig.signerInfos); ok && sig.useFast(fast) {
		return sig, nil
	}
	return sig, sig.readSigners()
}

// readSignature reads the SignedData with parse, and its certificates,
// not its SignerInfos.
func readSignature(b []byte, parse func([]byte) (*signedData, error)) (sig *cmsSignature, prob *Problem) {
	defer func() {
		if r := recover(); r != nil {
			sig, prob = nil, &Problem{Code: ProblemMalformed, Detail: fmt.Sprintf("CMS decoder failure: %v", r)}
		}
	}()
	if len(b) == 0 {
		return nil, &Problem{Code: ProblemMalformed, Detail: "empty signature"}
	}
	der, err := toDER(b)
	if err != nil {
		return nil, &Problem{Code: ProblemMalformed, Detail: err.Error()}
	}
	ber := len(der) == 0 || len(der) != len(b) || &der[0] != &b[0]
	sd, err := parse(der)
	if err != nil {
		return nil, &Problem{Code: ProblemMalformed, Detail: asn1Detail(err)}
	}
	p7 := &pkcs7.PKCS7{Content: sd.content}
	if sd.certificates != nil {
		if p7.Certificates, err = parseCertificates(sd.certificates); err != nil {
			return nil, &Problem{Code: ProblemMalformed, Detail: asn1Detail(err)}
		}
	}
	return &cmsSignature{p7: p7, certs: p7.Certificates, encapsulated: p7.Content, ber: ber, signerInfos: sd.signerInfos}, nil
}

// readSigners reads the SignerInfos with encoding/asn1, the general path,
// and says what makes the signature unusable, if anything.
func (sig *cmsSignature) readSigners() *Problem {
	if prob := sig.parseSigners(); prob != nil {
		return prob
	}
	p7 := sig.p7
	if len(p7.Signers) == 0 {
		if len(p7.Certificates) == 0 {
			return &Problem{Code: ProblemMalformed, Detail: "not a CMS SignedData with signers"}
		}
		return &Problem{Code: ProblemNoSigner, Detail: "SignedData has no SignerInfo"}
	}
	for _, si := range p7.Signers {
		h, ok := hashForOID(si.DigestAlgorithm.Algorithm)
		if !ok {
			return &Problem{Code: ProblemUnsupportedAlgorithm, Detail: "digest algorithm " + si.DigestAlgorithm.Algorithm.String()}
		}
		sig.hashes = append(sig.hashes, h)
	}
	si := p7.Signers[0]
	for _, c := range p7.Certificates {
		if c.SerialNumber.Cmp(si.IssuerAndSerialNumber.SerialNumber) == 0 && bytes.Equal(c.RawIssuer, si.IssuerAndSerialNumber.IssuerName.FullBytes) {
			sig.signer = c
			break
		}
	}
	sig.signedAttrs = len(si.AuthenticatedAttributes) > 0
	sig.sigAlg, sig.algorithm = signatureAlgorithmOf(si.DigestEncryptionAlgorithm.Algorithm, sig.hashes[0])
	sig.legacy = sig.hashes[0] == crypto.SHA1 || sig.sigAlg == x509.SHA1WithRSA || sig.sigAlg == x509.ECDSAWithSHA1
	if sig.signedAttrs {
		// The first value of the first attribute of a type, as the
		// library's UnmarshalSignedAttribute reads it.
		attr := func(oid asn1.ObjectIdentifier, out any) error {
			for _, a := range si.AuthenticatedAttributes {
				if a.Type.Equal(oid) {
					_, err := asn1.Unmarshal(a.Value.Bytes, out)
					return err
				}
			}
			return errors.New("no attribute " + oid.String())
		}
		var t time.Time
		if attr(oidAttrSigningTime, &t) == nil {
			sig.signingTime = t
		}
		var ct asn1.ObjectIdentifier
		if err := attr(oidAttrContentType, &ct); err != nil || !ct.Equal(oidData) {
			return &Problem{Code: ProblemMalformed, Detail: "contentType attribute missing or not id-data"}
		}
	}
	if sig.signer == nil {
		return &Problem{Code: ProblemNoSigner, Detail: "no certificate in the signature matches the signer"}
	}
	if sig.sigAlg == x509.UnknownSignatureAlgorithm {
		return &Problem{Code: ProblemUnsupportedAlgorithm, Detail: "signature algorithm " + si.DigestEncryptionAlgorithm.Algorithm.String()}
	}
	return nil
}

// parseSigners reads the SignerInfos with encoding/asn1 into p7.Signers.
func (sig *cmsSignature) parseSigners() *Problem {
	// The library's SignerInfo type is unexported: encoding/asn1 fills
	// it through the exported field, as the library's Parse does.
	if _, err := asn1.UnmarshalWithParams(sig.signerInfos, &sig.p7.Signers, "set"); err != nil {
		sig.p7.Signers = nil
		return &Problem{Code: ProblemMalformed, Detail: "SignerInfo: " + asn1Detail(err)}
	}
	return nil
}

// useFast takes the SignerInfos fastSignerInfos read, and reports true,
// when what the general path would conclude from them while parsing is
// no problem: the first signer's certificate is there and its signature
// algorithm known. The fields it sets are those the general path sets.
func (sig *cmsSignature) useFast(fast []fastSigner) bool {
	f := &fast[0]
	signer := findSigner(sig.certs, f.issuer, f.serial)
	if signer == nil {
		return false
	}
	sigAlg, algorithm := signatureAlgorithmOf(f.sigOID, f.hash)
	if sigAlg == x509.UnknownSignatureAlgorithm {
		return false
	}
	hashes := make([]crypto.Hash, len(fast))
	for i := range fast {
		hashes[i] = fast[i].hash
	}
	if f.signingTime != nil {
		// The first value, as the general path reads it.
		if t, ok := parseUTCTime(f.signingTime); ok {
			sig.signingTime = t
		} else {
			var t time.Time
			if _, err := asn1.Unmarshal(f.signingTime, &t); err == nil {
				sig.signingTime = t
			}
		}
	}
	sig.fast = fast
	sig.signer = signer
	sig.hashes = hashes
	sig.signedAttrs = true
	sig.sigAlg, sig.algorithm = sigAlg, algorithm
	sig.legacy = hashes[0] == crypto.SHA1 || sigAlg == x509.SHA1WithRSA || sigAlg == x509.ECDSAWithSHA1
	return true
}

// check verifies every SignerInfo against the content digests computed by
// the caller, one per digest algorithm in sig.hashes.
func (sig *cmsSignature) check(digests map[crypto.Hash][]byte) (prob *Problem) {
	defer func() {
		if r := recover(); r != nil {
			prob = &Problem{Code: ProblemMalformed, Detail: fmt.Sprintf("CMS verifier failure: %v", r)}
		}
	}()
	if sig.fast != nil {
		if sig.fastCheck(digests) {
			return nil
		}
		// A check failed: the general path says which, and why.
		sig.fast = nil
		if prob := sig.parseSigners(); prob != nil {
			return prob
		}
	}
	withAttrs := true
	for _, si := range sig.p7.Signers {
		withAttrs = withAttrs && len(si.AuthenticatedAttributes) > 0
	}
	if withAttrs {
		sig.p7.Content = nil
		sig.p7.Hasher = digestHasher(digests)
		err := sig.p7.Verify()
		var stErr *pkcs7.SigningTimeNotValidError
		if !errors.As(err, &stErr) {
			return classify(err)
		}
		// The library refuses a signing time outside the signer's
		// validity before it checks the signature value. That is a
		// question of trust (ProblemExpired, decided by Verify), not of
		// integrity: check the signers here instead.
	}
	// Without signed attributes the signature is over the content itself
	// (RFC 5652 §5.4), which the library would need in memory: check it
	// against the streamed digest here.
	for i := range sig.p7.Signers {
		if p := sig.checkSigner(i, digests); p != nil {
			return p
		}
	}
	return nil
}

// checkSigner verifies SignerInfo i without the library's verifier.
func (sig *cmsSignature) checkSigner(i int, digests map[crypto.Hash][]byte) *Problem {
	si := sig.p7.Signers[i]
	var cert *x509.Certificate
	for _, c := range sig.certs {
		if c.SerialNumber.Cmp(si.IssuerAndSerialNumber.SerialNumber) == 0 && bytes.Equal(c.RawIssuer, si.IssuerAndSerialNumber.IssuerName.FullBytes) {
			cert = c
			break
		}
	}
	if cert == nil {
		return &Problem{Code: ProblemNoSigner, Detail: fmt.Sprintf("no certificate for signer %d", i+1)}
	}
	h := sig.hashes[i]
	alg, _ := signatureAlgorithmOf(si.DigestEncryptionAlgorithm.Algorithm, h)
	if alg == x509.UnknownSignatureAlgorithm {
		return &Problem{Code: ProblemUnsupportedAlgorithm, Detail: "signature algorithm " + si.DigestEncryptionAlgorithm.Algorithm.String()}
	}
	if len(si.AuthenticatedAttributes) == 0 {
		return checkDigestSignature(cert.PublicKey, h, digests[h], si.EncryptedDigest)
	}
	var md []byte
	found := false
	for _, a := range si.AuthenticatedAttributes {
		if a.Type.Equal(oidAttrDigest) {
			_, err := asn1.Unmarshal(a.Value.Bytes, &md)
			found = err == nil
		}
	}
	if !found {
		return &Problem{Code: ProblemMalformed, Detail: "no messageDigest attribute"}
	}
	if !bytes.Equal(md, digests[h]) {
		return &Problem{Code: ProblemDigestMismatch, Detail: fmt.Sprintf("content digest %X, signed %X", digests[h], md)}
	}
	attrs, err := marshalAttributeSet(si.AuthenticatedAttributes)
	if err != nil {
		return &Problem{Code: ProblemMalformed, Detail: err.Error()}
	}
	return classify(cert.CheckSignature(alg, attrs, si.EncryptedDigest))
}

// classify maps an error of the CMS library or of crypto/x509 to a problem.
func classify(err error) *Problem {
	if err == nil {
		return nil
	}
	detail := strings.TrimPrefix(asn1Detail(err), "pkcs7: ")
	var mdErr *pkcs7.MessageDigestMismatchError
	var insecure x509.InsecureAlgorithmError
	switch {
	case errors.As(err, &mdErr):
		return &Problem{Code: ProblemDigestMismatch, Detail: fmt.Sprintf("content digest %X, signed %X", mdErr.ActualDigest, mdErr.ExpectedDigest)}
	case errors.Is(err, rsa.ErrVerification), strings.Contains(err.Error(), "verification failure"):
		return &Problem{Code: ProblemBadSignature, Detail: detail}
	case errors.As(err, &insecure), errors.Is(err, x509.ErrUnsupportedAlgorithm), errors.Is(err, errUnknownDigestOID),
		strings.Contains(err.Error(), "unsupported"):
		return &Problem{Code: ProblemUnsupportedAlgorithm, Detail: detail}
	case strings.Contains(err.Error(), "No certificate for signer"):
		return &Problem{Code: ProblemNoSigner, Detail: detail}
	case strings.Contains(err.Error(), "attribute"):
		return &Problem{Code: ProblemMalformed, Detail: detail}
	}
	return &Problem{Code: ProblemBadSignature, Detail: detail}
}

// asn1Detail is the text of err without the field parameters that
// encoding/asn1 prints in a structure error: they hold a pointer, and the
// same input would give a different Problem detail each time.
func asn1Detail(err error) string {
	s := err.Error()
	if i := strings.Index(s, " {optional:"); i >= 0 {
		if j := strings.IndexByte(s[i:], '}'); j >= 0 {
			s = s[:i] + s[i+j+1:]
		}
	}
	return s
}

// marshalAttributeSet re-encodes parsed signed attributes as the DER SET OF
// that the signature covers, as the library does internally.
func marshalAttributeSet[T any](attrs []T) ([]byte, error) {
	b, err := asn1.Marshal(struct {
		A []T `asn1:"set"`
	}{attrs})
	if err != nil {
		return nil, err
	}
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(b, &seq); err != nil {
		return nil, err
	}
	return seq.Bytes, nil
}

// checkDigestSignature verifies a signature made directly over a digest.
func checkDigestSignature(pub crypto.PublicKey, h crypto.Hash, digest, sig []byte) *Problem {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(k, h, digest, sig); err != nil {
			return &Problem{Code: ProblemBadSignature, Detail: err.Error()}
		}
		return nil
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest, sig) {
			return &Problem{Code: ProblemBadSignature, Detail: "ECDSA verification failure"}
		}
		return nil
	}
	return &Problem{Code: ProblemUnsupportedAlgorithm, Detail: fmt.Sprintf("public key %T", pub)}
}

// digestHasher hands the library the digests computed while streaming.
type digestHasher map[crypto.Hash][]byte

func (d digestHasher) Hash(h crypto.Hash, _ io.Reader) ([]byte, error) {
	if sum, ok := d[h]; ok {
		return sum, nil
	}
	return nil, fmt.Errorf("%w %v", errUnknownDigestOID, h)
}

// knownHashes are the digests the package knows, in a fixed order: the
// lookups below walk it rather than a map, whose random order would make
// each run take a different number of turns (which a fuzzer reads as new
// coverage).
var knownHashes = [...]crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512}

func hashForOID(oid asn1.ObjectIdentifier) (crypto.Hash, bool) {
	for _, h := range knownHashes {
		if digestOIDs[h].Equal(oid) {
			return h, true
		}
	}
	// QUIRK: some signers put a signature OID (sha1WithRSAEncryption, …)
	// where the digest OID belongs; OpenSSL and the CMS library accept it.
	for _, h := range knownHashes {
		if rsaWithHashOIDs[h].Equal(oid) {
			return h, true
		}
	}
	return 0, false
}

// signatureAlgorithmOf maps a SignerInfo signatureAlgorithm and its digest
// to the x509 algorithm that checks it and a short name. As OpenSSL and the
// CMS library do, an RSA signature uses the digest algorithm of the
// SignerInfo whatever hash a shaXWithRSAEncryption OID names.
func signatureAlgorithmOf(oid asn1.ObjectIdentifier, h crypto.Hash) (x509.SignatureAlgorithm, string) {
	isRSA := oid.Equal(oidRSAEncryption)
	for _, sh := range knownHashes {
		isRSA = isRSA || rsaWithHashOIDs[sh].Equal(oid)
		if ecdsaSignatureOIDs[sh].Equal(oid) {
			return ecdsaAlgorithm(sh), hashName(sh) + "-ecdsa"
		}
	}
	switch {
	case isRSA:
		return rsaAlgorithm(h), hashName(h) + "-rsa"
	case oid.Equal(oidECPublicKey):
		return ecdsaAlgorithm(h), hashName(h) + "-ecdsa"
	}
	return x509.UnknownSignatureAlgorithm, "unknown"
}

// rsaAlgorithm is the PKCS #1 v1.5 algorithm with digest h.
func rsaAlgorithm(h crypto.Hash) x509.SignatureAlgorithm {
	switch h {
	case crypto.SHA1:
		return x509.SHA1WithRSA
	case crypto.SHA256:
		return x509.SHA256WithRSA
	case crypto.SHA384:
		return x509.SHA384WithRSA
	case crypto.SHA512:
		return x509.SHA512WithRSA
	}
	return x509.UnknownSignatureAlgorithm
}

// ecdsaAlgorithm is the ECDSA algorithm with digest h.
func ecdsaAlgorithm(h crypto.Hash) x509.SignatureAlgorithm {
	switch h {
	case crypto.SHA1:
		return x509.ECDSAWithSHA1
	case crypto.SHA256:
		return x509.ECDSAWithSHA256
	case crypto.SHA384:
		return x509.ECDSAWithSHA384
	case crypto.SHA512:
		return x509.ECDSAWithSHA512
	}
	return x509.UnknownSignatureAlgorithm
}

// hashName is the name of a digest in Verdict.Algorithm: "sha1", "sha256".
func hashName(h crypto.Hash) string {
	return strings.ReplaceAll(Micalg(h), "-", "")
}
