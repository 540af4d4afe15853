// Package index is the provider index of PEC (IGPEC): which domains are
// PEC domains, which provider signed a message and whether its
// certificate is listed, and where its service mailbox is.
//
// Three sources give the same Snapshot: the LDAP directory (LDAP, over
// ldap:// and ldaps://), the published LDIF dump, plain or signed
// (ParseLDIF, ParseSignedLDIF, File), and Go values (New). A Mirror keeps
// the local copy a provider must query (daily refresh by default), serves
// lookups from its last good snapshot without locks, and keeps serving it
// when a refresh fails.
//
// A Snapshot and a Mirror implement smime.Authority: set one as
// smime.VerifyOptions.Authority (the options envelope.Parse and
// receipt.Parse take) and a signature is trusted only when it is intact,
// its signer certificate is listed and valid, and the signer's provider
// manages the From domain; otherwise the verdict lists the reason.
//
// # Sources
//
//   - PEC.md §13 (role, layout, schema of §13.3, lookups of §13.5), §11.1
//     check 10 and §11.2 checks 2 and 5, §12.5 step 3; §12.2 for SHA-1 and
//     SHA-256 certificate hashes.
//   - RFC 2849 (LDIF), RFC 4512 §2.5 (attribute descriptions and
//     options), RFC 4514 (DN strings), RFC 2696 (paged results), RFC 4522
//     (the ;binary transfer option of certificates).
//
// # Divergences tolerated
//
//   - Domains, names and hashes are compared case-insensitively, although
//     the RFC text once says "case-sensitive" (PEC.md §17).
//   - A From domain is accepted when managed by any entry of the signer's
//     provider: its main entry or a secondary environment (providerUnit).
//   - LDIF: blank lines made of spaces end a record, base64 without
//     padding is read, the last "-" of a modify record may be missing,
//     entries without object classes but with a providerName are
//     providers, control lines are ignored.
//
// # Limits
//
// Values by URL (":<") and moddn records are refused (ErrUnsupported):
// a published index has neither. Revocation is by removal from the
// index: a certificate deleted from it is no longer trusted after the next
// refresh. A certificate is found by its providerCertificateHash (§13.5):
// one listed without its hash is not found. CRL and OCSP checks are not
// made here.
package index
