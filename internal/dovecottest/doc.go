// Package dovecottest starts a real Dovecot (IMAP and POP3) for tests, on
// 127.0.0.1 free ports, with a private configuration in a temporary folder,
// TLS with a test certificate, plaintext authentication only over TLS, and
// maildir mailboxes that the test seeds by writing files directly. It also
// provides a loopback proxy that cuts connections after a number of bytes,
// and a PEC provider for submission tests (see Provider).
//
// Sources: the Dovecot 2.3 configuration reference (Debian dovecot-imapd,
// dovecot-pop3d); maildir delivery as in the maildir specification (write in
// tmp/, rename into new/); the PEC provider rules of PEC.md §11, played by
// Provider with the envelope and receipt packages.
package dovecottest
