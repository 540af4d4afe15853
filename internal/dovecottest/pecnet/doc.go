// Package pecnet puts the PEC providers of package providertest in front of
// a real Dovecot started by package dovecottest: the providers deliver into
// Dovecot's Maildirs and log in Dovecot's users, so that a client submits
// to a real access point and reads over Dovecot's IMAP and POP3 what real
// providers delivered (PEC.md §11).
//
// It is a package of its own because providertest depends on provider,
// provider/imap and provider/mailbox, whose own tests start Dovecot with
// dovecottest: dovecottest importing providertest would be an import cycle
// for them.
//
// Sources: PEC.md §10.3 and §11, as package provider implements them; the
// Dovecot side as package dovecottest.
package pecnet
