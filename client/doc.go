// Package client is the user side of PEC: it submits messages, fetches the
// mailbox, classifies and verifies what arrives, and follows every recipient
// of every sent message to a final outcome.
//
// Classify tells the kind of an incoming message from its own header fields
// (PEC.md §15.3) and parses and verifies it with the envelope and receipt
// packages. A Tracker correlates receipts and notices with the messages sent
// (PEC.md §9, §15.4, §10.3) and keeps its state in a small append-only
// store, so that a restart loses nothing.
//
// Normative sources: PEC.md §15 (client side), §9 (identifiers and
// correlation), §10.3 (time limits), §11.4 (multi-recipient behaviour);
// RFC 6109 §3 and §6.
//
// Tolerated divergences: header names and values in any case and with
// surrounding white space; receipts delivered in any order, more than once,
// or re-fetched byte for byte (duplicates are recognised and ignored); a
// presa in carico after the delivery receipt it precedes; a delivery receipt
// after the 24 h timeout notice, which still counts as delivered (PEC.md
// §10.3).
package client
