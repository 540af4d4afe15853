// Package dovecottest starts a real Dovecot (IMAP and POP3) for tests, on
// 127.0.0.1 free ports, with a private configuration in a temporary folder,
// TLS with a test certificate, plaintext authentication only over TLS, and
// maildir mailboxes that the test seeds by writing files directly. It also
// provides a loopback proxy that cuts connections after a number of bytes,
// and a PEC provider for submission tests (see Provider).
//
// Provider plays both providers by hand, for what the real ones cannot
// give a test: the raw submissions (Submissions), a refusal at the end of
// DATA (Refuse), receipts signed with the keys of package sample, and any
// outcome for any recipient at once, the time-limit notices included
// (Outcome, Now). Package pecnet, beside it, runs the real providers of
// package provider (through provider/providertest) in front of a Dovecot.
//
// Sources: the Dovecot 2.3 configuration reference (Debian dovecot-imapd,
// dovecot-pop3d); maildir delivery as in the maildir specification (write in
// tmp/, rename into new/); the PEC provider rules of PEC.md §11, played by
// Provider with the envelope and receipt packages.
package dovecottest
