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
// # Trust
//
// A signed index is read only from its publisher. ParseSignedLDIF and
// File check that the signature is intact, that the signer chains to the
// anchors given (Anchors, valid now, allowed to sign e-mail), that it is
// the publisher pinned (Publisher: its certificates, subject or e-mail
// address), and that it was not signed before MinSigningTime; a Mirror
// also refuses an index signed before the one it serves (ErrRollback), and
// keeps serving that one. Anchors alone are refused: the roots of PEC
// issue every provider's signing certificate, and ordinary e-mail
// certificates besides, so any of those keys could otherwise publish an
// index that hands it the domains of others (ErrPublisher). A caller
// whose anchors certify the publisher alone (a test or private network)
// says so with AnySignerUnderAnchors. With Anchors or a Publisher given,
// a plain LDIF is refused too: stripping the signature would otherwise
// pass the check.
//
// In production the trust comes from outside this package, which ships no
// certificate. The anchors are the roots of the Italian PEC PKI: the
// provider certificates of today are issued by AgID CA1, itself issued by
// Actalis Authentication Root CA (PEC.md §12.4); take them from AgID's
// publications and check their fingerprints out of band. AgID runs the
// index: an LDAP directory that licensed providers reach over mutual TLS,
// also published whole as the signed LDIF named by the LDIFLocationURL of
// o=postacert (PEC.md §13.1). A provider refreshes its local copy at least
// daily (a Mirror over a File or LDAP source); an integrator that is not a
// provider has no access of its own and gets the index through its
// provider. Which certificate signs the published LDIF is not fixed by the
// sources of this package: read the signer of a copy obtained over the
// authenticated channel (pec index, the tool, prints it on refusal),
// confirm it with AgID, and pin it; across its renewal, pin the old and
// the new certificate. Keep Status.SigningTime and give it back as
// File.MinSigningTime after a restart, so that an older index is refused
// then too.
//
// What is not checked: revocation of the publisher's certificate, or of
// any provider's (no CRL or OCSP is fetched; a provider certificate is
// revoked for this package when it leaves the index); the freshness of an
// index beyond the signing time of the one in service (an index that
// stops being updated is served until a newer one comes). The name
// constraints of AgID CA1 are not this package's check: crypto/x509
// applies them when the signer's chain is verified against
// smime.VerifyOptions.Roots, and not at all without Roots. An LDAP source
// is protected by its TLS connection alone (LDAP.TLSConfig): its entries
// carry no signature and no signing time.
//
// A Snapshot and a Mirror implement smime.Authority: set one as
// smime.VerifyOptions.Authority (the options envelope.Parse and
// receipt.Parse take) and a signature is trusted only when it is intact,
// its signer certificate is listed and valid, and the signer's provider
// manages the From domain; otherwise the verdict lists the reason.
//
// # Sources
//
//   - PEC.md §13 (role, layout, schema of §13.3, lookups of §13.5; the
//     signed LDIF of §13.1 and its publisher), §12.4 (the shared root
//     under which publisher and providers are certified), §11.1
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
