// Package smime signs and verifies PEC messages: S/MIME multipart/signed
// with a detached CMS SignedData in the smime.p7s part.
//
// A provider signs with a Signer, made from a crypto.Signer (a key in
// memory or in an HSM) and its certificate chain. Signer.NewWriter writes a
// whole signed message as a stream: the content is hashed while it is
// written and never held in memory. A client or a receiving provider calls
// Verify with the first body part as received and the decoded signature,
// and gets a Verdict: whether the content is intact, whether the signer
// chains to the given roots (Chained), whether it is a PEC provider
// (Trusted: only an Authority — the provider index, or provider
// certificates the caller pinned — decides that), and whether it is the
// sender, with the reasons when not. Verdict.OK is true only when all of
// them were checked and hold; Verdict.Summary says what was not checked.
// The error of Verify is for I/O only.
//
// # Time
//
// A verification is live by default: certificates are judged at
// VerifyOptions.CurrentTime, or now. An archived message, whose
// certificates have since expired, is judged as of its signing time only
// when VerifyOptions.AsOfSigningTime asks for it, and the Verdict says so.
// The signing time is the signer's own claim: one later than the
// verification time plus MaxClockSkew is reported and never trusted.
//
// # Sources
//
//   - RFC 5751 (S/MIME 3.2 message specification): §3.4.3 multipart/signed,
//     §3.1.1 canonical CRLF, §3.4.3.2 micalg, §3.2.1 media types.
//   - RFC 1847 (security multiparts) §2.1 and RFC 2046 §5.1.1: the signed
//     content is the first body part up to, not including, the CRLF before
//     the next delimiter.
//   - RFC 5652 (CMS) §5: SignedData, SignerInfo, signed attributes
//     (contentType, messageDigest, signingTime §11), DER of the signed
//     attributes as a SET OF (§5.4).
//   - RFC 8550 §4.4: key usage and extended key usage of signer
//     certificates. RFC 5280 §7.5: e-mail addresses compared with a
//     case-sensitive local part.
//   - PEC.md §7.1 (MIME tree), §12 (signature format, algorithms, provider
//     certificate profile, verification procedure), §17 item 15.
//
// # What is emitted
//
// SHA-256 by default (micalg=sha-256, protocol application/pkcs7-signature),
// DER, SignerInfo version 1 with issuerAndSerialNumber, signed attributes
// contentType, signingTime (UTCTime) and messageDigest, signature algorithm
// rsaEncryption or ecdsa-with-SHAxxx, certificates of the chain signer
// first. SignerOptions selects SHA-1 and application/x-pkcs7-signature to
// reproduce what most providers still send.
//
// # Divergences tolerated when verifying
//
//   - SHA-1 digests and signatures (Aruba until at least 2023, Namirial in
//     2024): accepted, flagged in Verdict.Legacy.
//   - micalg "sha1" (RFC 5751 says "sha-1") and the x-pkcs7-signature media
//     type: ParseMicalg and both constants cover them.
//   - BER signatures (indefinite lengths from streaming encoders) and
//     trailing bytes after the signature: accepted, flagged in Verdict.BER.
//   - Bare LF line endings in stored copies of messages: hashed as CRLF, as
//     OpenSSL does, and noted as ProblemCanonicalized.
//   - Expired certificates: every signature of an archived message has
//     one. Intact is about the bytes only; an expired chain is reported as
//     ProblemExpired with Chained and Trusted false, never as a broken
//     signature (VerifyOptions.AsOfSigningTime judges an archive as of its
//     signing time). A signing time outside the signer's validity is
//     likewise a trust matter.
//   - Provider certificates of the DigitPA era without an Extended Key
//     Usage, or with basicConstraints CA:FALSE: accepted by the provider
//     profile check (PEC.md §12.3), which refuses a certificate without a
//     digitalSignature Key Usage, without an rfc822Name, with an Extended
//     Key Usage lacking emailProtection, or with CA:TRUE.
//   - A signature OID (sha1WithRSAEncryption) in the digestAlgorithm field,
//     and SignerInfos without signed attributes (RFC 5652 allows them for
//     id-data).
//
// # Limits
//
// Reading a signature costs time and memory linear in its size: DER is
// checked in one walk and used as it is, BER is converted to DER in two
// linear passes, and the CMS library's own parser is not used. Bounds, far
// above what real provider signatures need (a few KB, 1–3 certificates):
// nesting 64, 262,144 BER elements, 32 signers, 64 certificates, 64 signed
// attributes per signer.
//
// Revocation (CRL, OCSP) is not checked. The provider index checks of
// PEC.md §12.5 steps 2–3 (the signer certificate is listed, and its
// provider manages the From domain) are made by an Authority given in
// VerifyOptions; package pec/index provides one. crypto/x509 refuses certificates
// signed with SHA-1 when building chains, so chains of certificates issued
// before about 2017 are reported as untrusted; their signatures still
// verify as intact.
package smime
