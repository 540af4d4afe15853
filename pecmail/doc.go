// Package pecmail reads any message once and says what it is: a transport
// or anomaly envelope, a receipt or notice (which of the twelve), or
// ordinary mail, possibly forwarding a PEC message, which is then found
// and read in the same pass (PEC.md §15.3).
//
// Read scans the MIME structure once, by byte offsets in the input, reads
// the certification data once, and verifies the signature once, over the
// exact bytes received. The envelope and receipt packages are views of the
// same result: envelope.Of and receipt.Of take a *Message without reading
// anything again, and envelope.Parse and receipt.Parse are Read followed
// by them. Envelopes, receipts and Messages share the Certified interface.
//
// Charsets: every accessor says what it does with them. In short, the
// certification data and attachments come back as the bytes that were
// sent, with only their transfer encoding (base64, quoted-printable)
// undone; Text and Subject are decoded to UTF-8; Original is the original
// message's RFC 5322 bytes as carried.
//
// Sources: PEC.md §5–§8, §15.3, §15.5, §17; RFC 2045, RFC 2046, RFC 2183.
// Tolerated divergences are those of the envelope and receipt packages,
// listed per message in Message.Deviations.
package pecmail
