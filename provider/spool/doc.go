// Package spool keeps the messages a PEC provider has accepted until their
// processing is done: the access point and the incoming point put a
// message in the spool, durably, before they answer 250 to the SMTP
// client, and every step after it (the signed acceptance receipt, the
// transport envelope, each relay to another provider, each deposit, the
// trace record) is recorded in the spool as it finishes, with its
// output. After a crash and a restart, Pending lists every message
// accepted and not completed, with the steps done: the provider finishes
// the others, and re-sends the recorded output of a step done (the same
// signed bytes) instead of producing it again, so that no legal receipt
// is ever emitted twice for one event.
//
// A Spool is an interface with two implementations here and a
// conformance suite in package spooltest: Memory, for tests, and Dir, a
// directory on local disk, for one provider process. A provider of
// several instances needs an implementation on a shared database.
//
// # The caller's loop
//
//	sp.Put(ctx, &spool.Item{ID: id, Role: spool.RoleAccess, From: from, To: rcpts}, data) // then 250
//	...
//	st, _ := sp.Get(ctx, id)
//	if !st.Done("acceptance") {
//		sp.Done(ctx, id, "acceptance", signedReceipt) // the commit point of the step
//	}
//	r, _ := sp.Output(ctx, id, "acceptance") // what to send, the same after any restart
//	...
//	if err := relay(...); err != nil {
//		sp.Retry(ctx, id, "relay:"+domain, time.Now().Add(backoff(st)), err.Error())
//	} else {
//		sp.Done(ctx, id, "relay:"+domain, nil)
//	}
//	...
//	sp.Complete(ctx, id) // every step done
//
// Sending is not part of the step's record: a crash after sending and
// before Done sends again, with the same bytes. The provider's peers see
// at worst a duplicate of one message (same Message-ID), never a second
// receipt. The PEC limits of 12 and 24 hours (PEC.md §10.3) count from
// Item.Received; Retry counts the attempts and keeps the next one's time.
//
// # Files of a Dir
//
//	SPOOL               the marker: this directory is a spool (format version)
//	LOCK                held (flock) by the one process that has the spool open
//	<id>.msg            an item: its envelope, its body, then its log: its steps done, with their outputs, and its retries
//	.tmp-<random>       an item being written where Linux's O_TMPFILE is not available
//
// An item's file begins with a frame (see frame.go): a magic, a JSON
// header with its own CRC-32C, the body's length and CRC-32C with their
// own checksum, and the body. It is written without a name (Linux's
// O_TMPFILE; elsewhere under a temporary name), the length and checksum
// written once the body is, fsync'd, then hard-linked to its name, which
// fails when the name exists, so that an ID is taken once; then the
// directory is fsync'd; concurrent calls share one directory fsync
// (group commit).
//
// The item's log follows the frame in the same file. A step done (Done)
// or a retry (Retry) is one record appended to it (see log.go): a prefix
// with the lengths and its own checksum, the JSON header and the output,
// each with its CRC-32C, written in one write at the end of the file,
// which is fsync'd: no file is created, renamed or linked, and the
// directory is not fsync'd, for a step. Done therefore reads an output
// whole into memory before writing it (an output is a signed receipt or
// envelope, the size of a message at most); Put streams its body. The writes of one item are
// serialised, so that a crash can tear only the last record of a log:
// Open drops a torn last record and cuts the file before it (the call
// that wrote it had not returned); a damaged record that a whole one
// follows is damage. The latest retry record of a step counts; a step
// record clears it.
//
// Complete removes the item's file, log and all, and fsyncs the
// directory: its commit point. A crash thus leaves every item whole or
// absent, with every step acknowledged in its log, and at worst a
// temporary file, which Open removes.
//
// A spool of the first format (marker "pec spool 1": items whose frame
// ends with its trailer, a file per step, <id>.<key>.step, and per retry,
// <id>.<key>.retry, key the first 32 hex digits of the SHA-256 of the
// step name) is read by Open, which then marks it of the current format.
// The new steps of its items go to a log of their own, <id>.log, and
// Complete removes all of their files.
//
// Open reads every envelope, step and retry header (not the bodies, but
// the last record of each log whole) into memory, so that Get and
// Pending read nothing from disk. A file that is damaged or foreign is reported by Dir.Damaged, logged, and left
// untouched; the item it belongs to is withheld (not pending, its ID
// refused) rather than processed with a step missing. A body's checksum
// is checked by the reader that reads it to its end.
//
// After a failed fsync or removal the Dir refuses every write
// (ErrFailed) until it is reopened: what the disk holds is then unknown.
// It needs a Unix system and a local file system with hard links.
//
// Sources: PEC.md §3.1 (the points that accept messages), §10.3 (time
// limits), §11 (the processing steps), §14 (the trace, which the spool
// does not replace: a completed item is removed).
package spool
