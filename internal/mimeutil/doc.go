// Package mimeutil locates the entities of a MIME message (RFC 2045, RFC
// 2046) by byte offsets in a re-readable source, so that a signed part can be
// verified over the exact bytes received and a large attachment is read only
// when it is opened. Part.Body decodes transfer encodings and charsets with
// github.com/emersion/go-message; Part.Decoded undoes the transfer encoding
// only (attachments byte for byte); Part.Text converts the charsets of PEC
// bodies itself and leaves the others to go-message.
//
// Speed: one pass per multipart level finds delimiters with bytes.Index
// over windows of the body; headers are read from bytes already in memory
// with go-message's semantics; buffers are pooled across scans; quoted-
// printable is decoded a line at a time with mime/quotedprintable's
// results. Each of these is fuzzed against the implementation it replaces.
//
// Tolerated divergences: LF line endings, white space after a boundary,
// a missing closing delimiter (reported), transfer encodings declared on
// multiparts (ignored, RFC 2045 §6.4), message/rfc822 parts transfer-encoded
// with base64 or quoted-printable (decoded into memory, within a limit).
package mimeutil
