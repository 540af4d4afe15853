package smime

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"
)

// isDER reports whether b is exactly one ASN.1 element in the definite,
// minimal encoding that DER requires: lengths in the shortest form, no
// indefinite lengths, no constructed strings (X.690 §10.1, §10.2). Real
// providers often send BER (indefinite lengths from streaming encoders);
// Verify accepts it and flags it in Verdict.BER. The order of SET OF
// elements is not checked.
func isDER(b []byte) bool {
	rest, ok := derElement(b, 0)
	return ok && len(rest) == 0
}

// derElement checks the element at the start of b and returns what
// follows it.
func derElement(b []byte, depth int) ([]byte, bool) {
	if depth > maxBERDepth || len(b) < 2 { // the bound of the BER conversion
		return nil, false
	}
	tag := b[0]
	constructed := tag&0x20 != 0
	i := 1
	if tag&0x1f == 0x1f { // high tag number: base-128, no leading 0x80
		if b[i] == 0x80 {
			return nil, false
		}
		for i < len(b) && b[i]&0x80 != 0 {
			i++
		}
		i++
		if i-1 > maxBERTagOctets {
			return nil, false
		}
		if i >= len(b) {
			return nil, false
		}
	}
	l := int(b[i])
	i++
	switch {
	case l == 0x80: // indefinite
		return nil, false
	case l > 0x80:
		n := l & 0x7f
		if n > 4 || i+n > len(b) || b[i] == 0 {
			return nil, false
		}
		l = 0
		for _, c := range b[i : i+n] {
			l = l<<8 | int(c)
		}
		i += n
		if l < 0x80 {
			return nil, false
		}
	}
	if l > len(b)-i {
		return nil, false
	}
	content, rest := b[i:i+l], b[i+l:]
	if !constructed {
		return rest, true
	}
	if tag&0xc0 == 0 { // universal
		switch tag & 0x1f {
		case 3, 4, 12, 19, 20, 22, 23, 24, 26, 30: // strings and times
			return nil, false
		}
	}
	for len(content) > 0 {
		var ok bool
		if content, ok = derElement(content, depth+1); !ok {
			return nil, false
		}
	}
	return rest, true
}

// Bounds on the SignedData that verification reads: each signer costs a
// signature check and a digest, each certificate a parse. Real provider
// signatures have one signer and two certificates.
const (
	maxSigners      = 32
	maxCertificates = 64
	maxAttributes   = 64 // signed or unsigned, per signer
)

// signedData is what verification reads of a CMS ContentInfo holding a
// SignedData (RFC 5652 §3, §5.1), as slices of its DER.
type signedData struct {
	certificates []byte // the certificates one after the other; nil when absent
	signerInfos  []byte // the SET OF SignerInfo, whole
	content      []byte // the eContent octets; nil when detached
}

// parseSignedData reads the ContentInfo in der, which holds one DER
// element (constructed strings aside: see berToDER). Only the fields
// verification needs are decoded; the certificates and SignerInfos are
// counted against their bounds before anything is decoded from them.
func parseSignedData(der []byte) (*signedData, error) {
	if sd, ok := fastSignedData(der); ok {
		return sd, nil
	}
	return parseSignedDataASN1(der)
}

// parseSignedDataASN1 is parseSignedData with encoding/asn1, for any
// form.
func parseSignedDataASN1(der []byte) (*signedData, error) {
	var ci struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
	}
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		return nil, fmt.Errorf("ContentInfo: %w", err)
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, fmt.Errorf("content type %v is not SignedData", ci.ContentType)
	}
	var sd struct {
		Version          int `asn1:"default:1"`
		DigestAlgorithms asn1.RawValue
		EncapContentInfo struct {
			EContentType asn1.ObjectIdentifier
			EContent     asn1.RawValue `asn1:"explicit,optional,tag:0"`
		}
		Certificates asn1.RawValue `asn1:"optional,tag:0"`
		CRLs         asn1.RawValue `asn1:"optional,tag:1"`
		SignerInfos  asn1.RawValue
	}
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("SignedData: %w", err)
	}
	isSet := func(v asn1.RawValue) bool {
		return v.Class == asn1.ClassUniversal && v.Tag == asn1.TagSet && v.IsCompound
	}
	if !isSet(sd.DigestAlgorithms) || !isSet(sd.SignerInfos) {
		return nil, errors.New("SignedData: digestAlgorithms or signerInfos is not a SET")
	}
	if len(sd.Certificates.FullBytes) > 0 && !sd.Certificates.IsCompound || len(sd.CRLs.FullBytes) > 0 && !sd.CRLs.IsCompound {
		return nil, errors.New("SignedData: certificates or crls is not a SET")
	}
	// The digest algorithms are decoded only to refuse malformed ones, as
	// the CMS library did: Verify hashes with those of the SignerInfos.
	if err := checkCount("digestAlgorithms", sd.DigestAlgorithms.Bytes, maxSigners); err != nil {
		return nil, err
	}
	var algs []pkix.AlgorithmIdentifier
	if _, err := asn1.UnmarshalWithParams(sd.DigestAlgorithms.FullBytes, &algs, "set"); err != nil {
		return nil, fmt.Errorf("SignedData: digestAlgorithms: %w", err)
	}
	out := &signedData{signerInfos: sd.SignerInfos.FullBytes}
	if err := checkSignerInfos(sd.SignerInfos.Bytes); err != nil {
		return nil, err
	}
	if len(sd.Certificates.FullBytes) > 0 {
		if err := checkCount("certificates", sd.Certificates.Bytes, maxCertificates); err != nil {
			return nil, err
		}
		out.certificates = sd.Certificates.Bytes
	}
	if len(sd.EncapContentInfo.EContent.Bytes) > 0 {
		var err error
		if out.content, err = eContent(sd.EncapContentInfo.EContent.Bytes); err != nil {
			return nil, fmt.Errorf("eContent: %w", err)
		}
	}
	return out, nil
}

// checkSignerInfos checks the number of SignerInfos in the contents of
// the SET b, and the number of attributes of each.
func checkSignerInfos(b []byte) error {
	if err := checkCount("signerInfos", b, maxSigners); err != nil {
		return err
	}
	for off := 0; off < len(b); {
		si, err := readBERHeader(b, off)
		if err == nil && si.length < 0 {
			err = berErrorf(off, "indefinite length in DER")
		}
		if err != nil {
			return fmt.Errorf("SignedData: signerInfos: %w", err)
		}
		off = si.start + si.length
		for p := si.start; p < off; {
			field, err := readBERHeader(b[:off], p)
			if err == nil && field.length < 0 {
				err = berErrorf(p, "indefinite length in DER")
			}
			if err != nil {
				return fmt.Errorf("SignedData: signerInfos: %w", err)
			}
			if b[p] == 0xa0 || b[p] == 0xa1 { // signedAttrs, unsignedAttrs
				if err := checkCount("SignerInfo attributes", b[field.start:field.start+field.length], maxAttributes); err != nil {
					return err
				}
			}
			p = field.start + field.length
		}
	}
	return nil
}

// checkCount checks that the DER contents b hold at most limit elements.
func checkCount(what string, b []byte, limit int) error {
	n, err := countElements(b, limit)
	if err != nil {
		return fmt.Errorf("SignedData: %s: %w", what, err)
	}
	if n > limit {
		return fmt.Errorf("SignedData: more than %d %s", limit, what)
	}
	return nil
}

// eContent returns the octets of the OCTET STRING in b, joining the chunks
// of a constructed one as BER encoders write it (X.690 §8.7.3); another
// type is taken as it is, as the CMS library did.
func eContent(b []byte) ([]byte, error) {
	var s asn1.RawValue
	if _, err := asn1.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	if !s.IsCompound || s.Tag != asn1.TagOctetString {
		return s.Bytes, nil
	}
	var content []byte
	for rest := s.Bytes; len(rest) > 0; {
		var chunk asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &chunk); err != nil {
			return nil, err
		}
		content = append(content, chunk.Bytes...)
	}
	return content, nil
}

// parseUTCTime reads b when it is a DER UTCTime of the usual form,
// YYMMDDhhmmssZ, as encoding/asn1 reads it into a time.Time (years 50 to
// 99 are 1950 to 1999), without its trial parses of two layouts; ok is
// false for anything else, which asn1.Unmarshal then reads
// (FuzzUTCTime compares them).
func parseUTCTime(b []byte) (time.Time, bool) {
	if len(b) != 15 || b[0] != 0x17 || b[1] != 13 || b[14] != 'Z' {
		return time.Time{}, false
	}
	var n [6]int
	for i := range n {
		hi, lo := b[2+2*i], b[3+2*i]
		if hi < '0' || hi > '9' || lo < '0' || lo > '9' {
			return time.Time{}, false
		}
		n[i] = int(hi-'0')*10 + int(lo-'0')
	}
	year := 2000 + n[0]
	if year >= 2050 {
		year -= 100
	}
	t := time.Date(year, time.Month(n[1]), n[2], n[3], n[4], n[5], 0, time.UTC)
	if t.Year() != year || t.Month() != time.Month(n[1]) || t.Day() != n[2] || t.Hour() != n[3] || t.Minute() != n[4] || t.Second() != n[5] {
		return time.Time{}, false // out of range: normalised by time.Date
	}
	return t, true
}
