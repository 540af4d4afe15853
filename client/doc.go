// Package client is the user side of PEC: it submits messages, fetches the
// mailbox, classifies and verifies what arrives, and follows every recipient
// of every sent message to a final outcome.
//
// # Classifying
//
// Classify tells the kind of an incoming message from its own header fields
// (PEC.md §15.3): X-Ricevuta makes a receipt or notice, X-Trasporto an
// envelope, anything else is ordinary mail (pec.KindUnknown, not an error).
// It then parses and verifies the message with the envelope and receipt
// packages, whose certification data is authoritative for the kind. Those
// packages also find a PEC message wrapped inside another one; Classify
// does not follow them there, because a forwarded .eml never makes a message
// PEC.
//
// # Tracking
//
// A Tracker keeps, for each message registered at submission, the state of
// each recipient (PEC.md §15.4), fed with the receipts and notices fetched
// from the mailbox. Receipts are found by the daticert msgid (the client's
// Message-ID), else by the identificativo once the acceptance has told it
// (PEC.md §9); the unsigned X-Riferimento-Message-ID is never used. A
// receipt counts for the message only when its signed certification data
// matches it: msgid, mittente equal to the sender, every recipient it names
// (consegna, ricezione) one of the message's, and identificativo equal to
// the acceptance's once known. A genuine receipt about another message can
// be put in anyone's mailbox (PEC.md §11.2: providers deposit valid notices
// unchanged), so what does not match is reported (Status.Problems,
// ErrMismatch, ErrUnknownRecipient) and never applied. The destinatari of
// the acceptance tell certified recipients from external ones.
//
// The state of a recipient is a function of the set of its receipts, not of
// their order: it is the state of highest precedence that they support (see
// State), so that a final state never goes back to a provisional one, and a
// delivery receipt after the 24 h notice still counts (PEC.md §10.3). The 12 h
// and 24 h notices are told apart by their text; one whose text says neither
// is the final one when certified 22 hours or more after acceptance (PEC.md
// §15.4). A receipt seen again, by its bytes, or by its own Message-ID with
// the signed data that name its message, is a duplicate and changes
// nothing. A receipt about a message the tracker does
// not follow is reported (ErrUnknownMessage) and kept, and counts if that
// message is registered later. Only receipts that are evidence count,
// unless TrackerOptions.AllowUnverified says otherwise: signed by a PEC
// provider that the provider index lists (smime.VerifyOptions.Authority;
// trust anchors alone are not enough), which is the receipt's From and
// manages the domain of the recipient it speaks for (the sender, for the
// notices of the sender's provider), verified live, and whose kind is
// established by its signed content, never by the unsigned X-Ricevuta or
// X-VerificaSicurezza (PEC.md §11.2, §12.5).
//
// # Submitting and fetching
//
// Send composes a Draft with the header fields a provider expects (one
// From, To and Cc only, never Bcc, X-TipoRicevuta for the requested delivery
// receipt, a Message-ID kept as the correlation key), checks before
// connecting what the provider would refuse (addresses, sender = the
// authenticated mailbox, size × recipients), and submits it over SMTP with
// implicit TLS or STARTTLS and SASL PLAIN or LOGIN, every exchange from the
// greeting on bounded by SubmitOptions.Timeout. Attachments go out as their
// bytes, base64-encoded, with the content type and charset they declare:
// a text file in ISO-8859-1 or Windows-1252 arrives byte for byte, never
// converted. A draft keeps the Message-ID it is given or, at its first
// Compose, gets. With a Tracker the message is registered once every
// recipient is accepted and before DATA, so the same Message-ID (a retry
// of the same draft included) is never sent twice. Fetch and Watch read the
// mailbox over IMAP (UID-based, UIDVALIDITY-aware, IDLE when offered) or
// POP3 (UIDL), into a local folder, one .eml per message, each written and
// synced before the fetch state records it, so a cut connection or a crash
// neither loses nor duplicates a message; each is classified, verified and
// given to the Tracker, which needs the provider index to judge them, live
// (FetchOptions.Verify; ErrNoTrust otherwise). Presets name the servers of
// the large providers.
//
// # Identifiers
//
// Every identifier the package gives or takes — a Message-ID, the daticert
// msgid and identificativo (PEC.md §9) — is written without angle brackets:
// Draft.MessageID, Submission.MessageID, Sent.MessageID, Status.MessageID
// and Status.ID, Evidence.MessageID, Message.MessageID, and the tracker's
// journal. Brackets only appear in the Message-ID header field itself. An
// identifier given with brackets is accepted and taken without them
// (pec.NormalizeMsgID), so either form finds the same message.
//
// # Store
//
// The tracker's state is a journal of JSON lines, one record per
// registration or receipt, each appended whole and fsync'd before Register
// or Observe returns, and replayed at OpenTracker. The signed receipts are
// kept beside it, one file per receipt named by the SHA-256 of its bytes,
// synced before the journal line that names them. A crash can leave only an
// incomplete last line: OpenTracker drops it and reports it (Repaired,
// ErrTornRecord). Damage anywhere else is refused (ErrCorruptStore), never
// skipped. One process writes a store at a time (ErrLocked); others may read
// it (TrackerOptions.ReadOnly).
//
// Normative sources: PEC.md §15 (client side), §9 (identifiers and
// correlation), §10.3 (time limits), §11.1, §11.2 and §11.4 (what the access
// and incoming points check, multi-recipient behaviour), §12.5
// (verification); RFC 6109 §3 and §6; RFC 6409, 8314,
// 3207 and 4954 (submission, implicit TLS, STARTTLS, AUTH); RFC 9051 and
// 2177 (IMAP, IDLE); RFC 1939, 2449, 2595 and 5034 (POP3, its extensions,
// STLS, SASL).
//
// Tolerated divergences: header names and values in any case and with
// surrounding white space; receipts delivered in any order, more than once,
// or re-fetched with other mailbox header fields; a presa in carico after the
// delivery receipt it precedes; a receipt without msgid, matched by its
// identificativo once the acceptance has told it; the recipient of a
// rilevazione-virus notice in ricezione
// (PEC.md §17 item 21); a preavviso whose text names no time limit.
package client
