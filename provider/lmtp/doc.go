// Package lmtp is a mailbox store for providers that already run Dovecot:
// the Delivery Point hands each message to Dovecot's LMTP service instead of
// writing the Maildir itself, and the holders read their mail with
// Dovecot's IMAP and POP3 servers.
//
// A Store satisfies mailbox.Store, so it takes the place of a Maildir in the
// provider's configuration. Only Mailbox.Deliver is carried out; reading
// and changing mail (Folders, List, Open, SetFlags, Expunge, CreateFolder)
// is Dovecot's and returns ErrUnsupported. Each delivery is one LMTP
// transaction on its own connection (RFC 2033): LHLO, MAIL FROM:<>, one
// RCPT TO naming the user, DATA; the message is durable when Dovecot
// answers 250 for that recipient.
//
// Sources: RFC 2033 (LMTP), RFC 5321 (the commands and replies it reuses),
// RFC 3463 (enhanced status codes: X.2.2 is a full mailbox).
//
// Divergences from the Maildir store: LMTP carries no flags and no internal
// date, so Deliver ignores them and Dovecot dates the message on arrival;
// Deliver returns UID 0, as LMTP does not say which UID Dovecot gave. A
// folder other than INBOX is reached with a recipient detail
// (Options.Delimiter, "user+Sent@domain"), which Dovecot files in that
// folder when lmtp_save_to_detail_mailbox is set (and creates it when
// lda_mailbox_autocreate is set). A reply X.2.2 (Dovecot's
// quota plugin) is mailbox.ErrQuota, so that the Delivery Point sends its
// "casella piena" non-delivery notice (PEC.md §6.8).
//
// The deposit should stay byte for byte what was received (PEC.md §11.3):
// set lmtp_add_received_header = no and lmtp_hdr_delivery_address = none
// in Dovecot, or it prepends Received and Delivered-To fields. Dovecot 2.3
// always prepends "Return-Path: <>", which no setting removes: a test reads
// each message back over Dovecot's IMAP and finds the delivered bytes after
// that one field. The signature still verifies, as S/MIME does not cover
// the outer header.
package lmtp
