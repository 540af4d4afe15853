// Package mailbox stores a PEC provider's user mailboxes: what the Delivery
// Point deposits, unchanged (PEC.md §11.3), and what the IMAPS and POP3S
// servers give back to users (PEC.md §15.1).
//
// A Store hands out one Mailbox per account. Two implementations are given:
// OpenMaildir keeps each mailbox as a Maildir (one file per message, written
// in tmp/, synced, renamed into new/ or cur/, the directory synced) in the
// layout Dovecot, Postfix and mutt read, and NewMemory keeps everything in
// memory for tests. Dovecot can serve the same directories at the same
// time: both see the same folders, UIDs, flags and dates (a test runs a
// real Dovecot on folders this package wrote, and the other way round).
//
// Maildir layout, for the folder names Dovecot uses by default with the
// Maildir++ layout:
//
//	<root>/<user>/{tmp,new,cur}/           INBOX
//	<root>/<user>/.Sent/{tmp,new,cur}/      Sent, with an empty maildirfolder file
//	<root>/<user>/.Archive/...              Archive
//	<dir>/dovecot-uidlist                   UIDVALIDITY, next UID and UIDs (version 3)
//
// File names follow the Maildir specification with Dovecot's extensions:
// "<sec>.M<usec>P<pid>Q<n>.<host>,S=<size>:2,<flags>", the flag letters D
// (draft), F (flagged), R (answered), S (seen) and T (deleted) in ASCII order;
// the file's modification time is the message's internal date, as Dovecot
// keeps it. Letters this package does not know (P, keyword letters) are kept
// when flags change.
//
// UIDs are given under Dovecot's lock, dovecot-uidlist.lock: new records
// are appended to dovecot-uidlist as Dovecot does, and the file is rewritten
// (in the lock file, synced, renamed over it) when most of its records are
// stale. Flag changes are renames within the folder; a file renamed or
// removed by another program is found by scanning the folder again.
//
// Sources: the Maildir specification (cr.yp.to/proto/maildir.html), the
// Maildir++ folder convention, Dovecot's Maildir and dovecot-uidlist
// documentation (version 3 format), RFC 3501 §2.3.1.1 (UIDs, UIDVALIDITY).
//
// Tolerated divergences: a dovecot-uidlist of version 1 ("1 <uidvalidity>
// <nextuid>", lines "<uid> <name>"), or with unknown extension fields, is
// read; lines that cannot be read are skipped and their files get new UIDs
// (the UIDVALIDITY is kept unless no valid header is found). File names
// without ",S=" are sized with a stat.
package mailbox
