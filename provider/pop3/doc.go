// Package pop3 is the provider's POP3 server: how users fetch their PEC
// mailbox over POP3S (PEC.md §15.1), from a mailbox.Store, with the
// passwords checked by a mailbox.Authenticator.
//
// Serve it on a tls.Listener for implicit TLS (POP3S, port 995), or on a
// plain listener with Options.TLSConfig set for STLS (port 110). Plain-text
// passwords are refused before TLS unless Options.InsecureAuth is set.
//
// Sources: RFC 1939 (POP3: USER, PASS, STAT, LIST, UIDL, RETR, TOP, DELE,
// RSET, NOOP, QUIT, the UPDATE state), RFC 2449 (CAPA, response codes, the
// 255-octet command line), RFC 2595 §4 (STLS), RFC 5034 and RFC 4616 (AUTH
// PLAIN), RFC 3206 (the AUTH and SYS response codes).
//
// Divergences: the maildrop is not locked exclusively (RFC 1939 §8): a
// Maildir may be read by several sessions at once, and a message deleted
// by one of them is simply gone for the others. Each session sees the INBOX
// as it was at login; RETR marks a message \Seen for IMAP clients, as
// Dovecot does. Only INBOX is served: what DELE removes from it stays in
// the Archive folder when the Delivery Point filed it there
// (mailbox.Archiver). Message sizes in STAT and LIST are the stored sizes,
// which equal the transmitted sizes for messages stored with CRLF line ends
// (lines ending in a bare LF are sent with CRLF). Unique-ids are the UID and
// UIDVALIDITY in lower-case hexadecimal, as Dovecot's default
// pop3_uidl_format "%08Xu%08Xv" writes them, so that Dovecot serving the same
// Maildir gives the same ones (a test compares UIDL, LIST and RETR of both).
package pop3
