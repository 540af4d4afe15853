package smime

import (
	"bytes"
	"crypto"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"sync"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The SignerInfos of every real PEC signature are read here, without
// encoding/asn1 and the CMS library (RFC 5652 §5.3, §5.4): the signature
// value is checked over the signed attributes as they are in the DER, not
// over a re-encoding of them.
//
// This reader is a shortcut, never a judge of its own: it accepts only
// the one form in which the verdict of the general path (encoding/asn1
// into the library's SignerInfo, the library's Verify, checkSigner) is
// known to be the same as its own — each field in DER with the expected
// tag and nothing after it, every attribute a SEQUENCE of an object
// identifier and a SET, the signed attributes in the ascending order of
// a DER SET OF (so that their bytes are exactly what the library
// re-encodes and checks the signature over), the digest and signature
// algorithms among those both paths map alike, contentType id-data,
// messageDigest one OCTET STRING. For anything else, and whenever a
// check fails, the general path decides and says why. FuzzSignerInfos
// compares the two.

// fastSignedData reads a ContentInfo holding a detached SignedData as
// parseSignedDataASN1 does, when it is in the one form of the shortcut:
// each field in DER with its expected tag and nothing after it, no
// eContent, the digest algorithms each an identifier with at most one
// parameter, and the counts within their bounds. ok is false for any
// other form, which parseSignedDataASN1 reads (or refuses, saying why).
func fastSignedData(der []byte) (sd *signedData, ok bool) {
	s := cryptobyte.String(der)
	var ci, oid, wrapped, body, algs, encap, certs, infos cryptobyte.String
	if !s.ReadASN1(&ci, cbasn1.SEQUENCE) || !s.Empty() ||
		!ci.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) || !bytes.Equal(oid, derOIDSignedData) ||
		!ci.ReadASN1(&wrapped, cbasn1.Tag(0).Constructed().ContextSpecific()) || !ci.Empty() ||
		!wrapped.ReadASN1(&body, cbasn1.SEQUENCE) || !wrapped.Empty() {
		return nil, false
	}
	var version cryptobyte.String
	if !body.ReadASN1(&version, cbasn1.INTEGER) || len(version) != 1 || version[0] >= 0x80 ||
		!body.ReadASN1(&algs, cbasn1.SET) {
		return nil, false
	}
	// encapContentInfo: id-data (or another identifier encoding/asn1
	// reads), no eContent.
	if !body.ReadASN1(&encap, cbasn1.SEQUENCE) || !encap.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) ||
		!validOID(oid) || !encap.Empty() {
		return nil, false
	}
	sd = &signedData{}
	if body.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		if !body.ReadASN1(&certs, cbasn1.Tag(0).Constructed().ContextSpecific()) {
			return nil, false
		}
		sd.certificates = certs
		if sd.certificates == nil {
			sd.certificates = []byte{}
		}
	}
	if body.PeekASN1Tag(cbasn1.Tag(1).Constructed().ContextSpecific()) {
		var crls cryptobyte.String
		if !body.ReadASN1(&crls, cbasn1.Tag(1).Constructed().ContextSpecific()) {
			return nil, false
		}
	}
	full := body
	if !body.ReadASN1(&infos, cbasn1.SET) || !body.Empty() {
		return nil, false
	}
	sd.signerInfos = full
	// The digest algorithms, and the bounds parseSignedDataASN1 checks.
	n := 0
	for ; !algs.Empty(); n++ {
		var alg cryptobyte.String
		if !algs.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) || !validOID(oid) || !algParams(alg) {
			return nil, false
		}
	}
	if n > maxSigners || checkSignerInfos(infos) != nil ||
		sd.certificates != nil && checkCount("certificates", sd.certificates, maxCertificates) != nil {
		return nil, false
	}
	return sd, true
}

// fastSigner is a SignerInfo as fastSignerInfos reads it: slices of the
// signature's DER, valid while it is.
type fastSigner struct {
	issuer      []byte   // the issuer Name, whole
	serial      *big.Int // the serial number
	hash        crypto.Hash
	sigOID      asn1.ObjectIdentifier // a shared value of the tables below: do not modify
	signedAttrs []byte                // the [0] IMPLICIT SET OF Attribute, whole
	digest      []byte                // the messageDigest value
	signingTime []byte                // the contents of the signingTime SET; nil when absent
	signature   []byte
}

// DER encodings of the object identifiers the shortcut compares.
var (
	derOIDData        = mustOID(oidData)
	derOIDSignedData  = mustOID(oidSignedData)
	derOIDContentType = mustOID(oidAttrContentType)
	derOIDDigest      = mustOID(oidAttrDigest)
	derOIDSigningTime = mustOID(oidAttrSigningTime)
)

func mustOID(oid asn1.ObjectIdentifier) []byte {
	b, err := asn1.Marshal(oid)
	if err != nil {
		panic(err)
	}
	return b[2:] // one-octet tag and length: the contents
}

// fastDigests are the digest algorithms the shortcut reads: their
// standard identifiers only (not the signature OIDs hashForOID tolerates,
// which the library maps differently).
var fastDigests = func() (t [len(knownHashes)]struct {
	der  []byte
	hash crypto.Hash
}) {
	for i, h := range knownHashes {
		t[i].der, t[i].hash = mustOID(digestOIDs[h]), h
	}
	return t
}()

// fastSignatureOIDs are the signature algorithms the shortcut reads:
// RSA (rsaEncryption and shaXWithRSAEncryption) and ecdsa-with-SHAX,
// which signatureAlgorithmOf and the library map to the same algorithm.
var fastSignatureOIDs = func() (t []asn1.ObjectIdentifier) {
	t = append(t, oidRSAEncryption)
	for _, h := range knownHashes {
		t = append(t, rsaWithHashOIDs[h], ecdsaSignatureOIDs[h])
	}
	return t
}()

var fastSignatureDER = func() (t [][]byte) {
	for _, oid := range fastSignatureOIDs {
		t = append(t, mustOID(oid))
	}
	return t
}()

// fastSignerInfos reads the SET OF SignerInfo set (whole, DER) in the
// shortcut's form; ok is false when any of it is in another form, or
// when a signer lacks signed attributes, a contentType of id-data or a
// messageDigest.
func fastSignerInfos(set []byte) (signers []fastSigner, ok bool) {
	s := cryptobyte.String(set)
	var infos cryptobyte.String
	if !s.ReadASN1(&infos, cbasn1.SET) || !s.Empty() || infos.Empty() {
		return nil, false
	}
	for !infos.Empty() {
		var si cryptobyte.String
		if !infos.ReadASN1(&si, cbasn1.SEQUENCE) {
			return nil, false
		}
		f, ok := fastSignerInfo(si)
		if !ok {
			return nil, false
		}
		signers = append(signers, f)
	}
	return signers, true
}

func fastSignerInfo(si cryptobyte.String) (f fastSigner, ok bool) {
	var version, ias, issuer, alg, oid, attrs, sig cryptobyte.String
	// version: one octet, as the library's int reads it.
	if !si.ReadASN1(&version, cbasn1.INTEGER) || len(version) != 1 || version[0] >= 0x80 {
		return f, false
	}
	// issuerAndSerialNumber: a Name and an INTEGER, nothing else.
	f.serial = new(big.Int)
	if !si.ReadASN1(&ias, cbasn1.SEQUENCE) || !ias.ReadASN1Element(&issuer, cbasn1.SEQUENCE) ||
		!ias.ReadASN1Integer(f.serial) || !ias.Empty() {
		return f, false
	}
	f.issuer = issuer
	// digestAlgorithm: a standard digest identifier, with or without
	// parameters.
	if !si.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) || !algParams(alg) {
		return f, false
	}
	for _, d := range fastDigests {
		if bytes.Equal(oid, d.der) {
			f.hash = d.hash
		}
	}
	if f.hash == 0 {
		return f, false
	}
	// signedAttrs: required here.
	if !si.ReadASN1Element(&attrs, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return f, false
	}
	f.signedAttrs = attrs
	if !f.readSignedAttrs(attrs) {
		return f, false
	}
	// signatureAlgorithm.
	alg = nil
	if !si.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) || !algParams(alg) {
		return f, false
	}
	for i, d := range fastSignatureDER {
		if bytes.Equal(oid, d) {
			f.sigOID = fastSignatureOIDs[i]
		}
	}
	if f.sigOID == nil {
		return f, false
	}
	// signature, then unsignedAttrs or nothing.
	if !si.ReadASN1(&sig, cbasn1.OCTET_STRING) {
		return f, false
	}
	f.signature = sig
	if si.PeekASN1Tag(cbasn1.Tag(1).Constructed().ContextSpecific()) {
		var unsigned cryptobyte.String
		if !si.ReadASN1(&unsigned, cbasn1.Tag(1).Constructed().ContextSpecific()) {
			return f, false
		}
		for !unsigned.Empty() {
			if _, _, ok := readAttribute(&unsigned); !ok {
				return f, false
			}
		}
	}
	return f, si.Empty()
}

// algParams reports whether what follows the object identifier of an
// AlgorithmIdentifier is nothing or one element.
func algParams(rest cryptobyte.String) bool {
	if rest.Empty() {
		return true
	}
	var params cryptobyte.String
	var tag cbasn1.Tag
	return rest.ReadAnyASN1Element(&params, &tag) && rest.Empty()
}

// readSignedAttrs reads the signed attributes (the [0] element attrs,
// whole): in ascending DER order, with a contentType of id-data and a
// messageDigest, each of the three types at most once.
func (f *fastSigner) readSignedAttrs(attrs cryptobyte.String) bool {
	var set cryptobyte.String
	if !attrs.ReadASN1(&set, cbasn1.Tag(0).Constructed().ContextSpecific()) || set.Empty() {
		return false
	}
	var prev []byte
	var contentType bool
	for !set.Empty() {
		start := set
		oid, values, ok := readAttribute(&set)
		if !ok {
			return false
		}
		elem := start[:len(start)-len(set)]
		if prev != nil && bytes.Compare(prev, elem) > 0 {
			return false // not the order the library re-encodes them in
		}
		prev = elem
		switch {
		case bytes.Equal(oid, derOIDContentType):
			// The first value, as the library reads it.
			if contentType || !bytes.HasPrefix(values, append([]byte{0x06, byte(len(derOIDData))}, derOIDData...)) {
				return false
			}
			contentType = true
		case bytes.Equal(oid, derOIDDigest):
			var md cryptobyte.String
			v := cryptobyte.String(values)
			if f.digest != nil || !v.ReadASN1(&md, cbasn1.OCTET_STRING) || !v.Empty() {
				return false
			}
			f.digest = md
			if f.digest == nil {
				f.digest = []byte{}
			}
		case bytes.Equal(oid, derOIDSigningTime):
			if f.signingTime != nil {
				return false
			}
			f.signingTime = values
		}
	}
	return contentType && f.digest != nil
}

// readAttribute reads an Attribute: a SEQUENCE of an object identifier
// that encoding/asn1 reads (and so writes back the same) and a SET,
// nothing else. values are the contents of the SET.
func readAttribute(s *cryptobyte.String) (oid, values []byte, ok bool) {
	var attr, o, v cryptobyte.String
	if !s.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1(&o, cbasn1.OBJECT_IDENTIFIER) ||
		!attr.ReadASN1(&v, cbasn1.SET) || !attr.Empty() || !validOID(o) {
		return nil, nil, false
	}
	if v == nil {
		v = cryptobyte.String{}
	}
	return o, v, true
}

// validOID reports whether encoding/asn1 reads b as the contents of an
// OBJECT IDENTIFIER: base-128 numbers, each minimally encoded and at most
// 2^31-1.
func validOID(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for i := 0; i < len(b); {
		if b[i] == 0x80 {
			return false
		}
		var v int64
		for n := 0; ; n++ {
			if n == 5 || i >= len(b) {
				return false
			}
			c := b[i]
			i++
			v = v<<7 | int64(c&0x7f)
			if c&0x80 == 0 {
				break
			}
		}
		if v > 1<<31-1 {
			return false
		}
	}
	return true
}

// fastCheck verifies every signer read by fastSignerInfos against the
// content digests: the messageDigest, then the signature value over the
// signed attributes as carried (their tag made the SET's, RFC 5652
// §5.4). It reports true only when all of them check out; otherwise the
// general path decides, and says why.
func (sig *cmsSignature) fastCheck(digests map[crypto.Hash][]byte) bool {
	for i := range sig.fast {
		f := &sig.fast[i]
		cert := findSigner(sig.certs, f.issuer, f.serial)
		if cert == nil {
			return false
		}
		alg, _ := signatureAlgorithmOf(f.sigOID, f.hash)
		if alg == x509.UnknownSignatureAlgorithm {
			return false
		}
		d, ok := digests[f.hash]
		if !ok || subtle.ConstantTimeCompare(f.digest, d) != 1 {
			return false
		}
		buf := attrBufs.Get().(*[]byte)
		signed := append((*buf)[:0], f.signedAttrs...)
		signed[0] = 0x31 // SET OF, for the [0] IMPLICIT tag
		err := cert.CheckSignature(alg, signed, f.signature)
		*buf = signed[:0]
		attrBufs.Put(buf)
		if err != nil {
			return false
		}
	}
	return true
}

// attrBufs hold the signed attributes with their SET tag while their
// signature is checked.
var attrBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// findSigner returns the certificate of certs with issuer (whole DER) and
// serial, as the library matches them; nil when none.
func findSigner(certs []*x509.Certificate, issuer []byte, serial *big.Int) *x509.Certificate {
	for _, c := range certs {
		if c.SerialNumber.Cmp(serial) == 0 && bytes.Equal(c.RawIssuer, issuer) {
			return c
		}
	}
	return nil
}
