// Package mimeutil locates the entities of a MIME message (RFC 2045, RFC
// 2046) by byte offsets in a re-readable source, so that a signed part can be
// verified over the exact bytes received and a large attachment is read only
// when it is opened. Decoding of transfer encodings and charsets is done by
// github.com/emersion/go-message.
//
// Tolerated divergences: LF line endings, white space after a boundary,
// a missing closing delimiter (reported), transfer encodings declared on
// multiparts (ignored, RFC 2045 §6.4), message/rfc822 parts transfer-encoded
// with base64 or quoted-printable (decoded into memory, within a limit).
package mimeutil
