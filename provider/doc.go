// Package provider is a working PEC provider: the access point (authenticated
// SMTP submission), the incoming point (the MX of the provider's PEC domains)
// and the delivery point (deposit into the user mailboxes), with the receipts,
// notices and envelopes each of them emits, the time limits of the sender's
// provider, and the legal trace.
//
// A Provider is made with New from a Config. Its two SMTP servers look like
// go-smtp's: ServeSubmission and ServeIncoming take a net.Listener (wrap one
// in tls.NewListener for implicit TLS; a plain one offers STARTTLS), Close
// stops everything at once, Shutdown waits for the sessions and the work under
// way. Work goes through the spool (package provider/spool): a message is in
// the spool, durably, before the SMTP 250, and each step after it (a signed
// receipt, the transport envelope, a relay, a deposit, a trace record) is
// recorded there with its output, so that after a crash every accepted
// message is processed to the end, and a restart sends again the same signed
// bytes instead of signing a second receipt for one event.
//
// What each point does:
//
//   - Access point (access.go, check.go, submit.go): every check of PEC.md
//     §11.1 in order; the acceptance receipt or a non-acceptance (formal or virus) to
//     the sender; the transport envelope (envelope.Build); a copy in the
//     sender's Sent folder; one SMTP transaction per destination: the
//     provider's own incoming point for its own domains (PEC.md §11.5, the
//     same verification as for anyone else), STARTTLS required toward another
//     PEC provider of the index, ordinary SMTP toward an ordinary address.
//   - Incoming point (incoming.go, received.go, claim.go): every envelope and
//     notice is verified live against the index, read once (pecmail.Read with
//     smime.VerifyOptions{Roots, Authority: the index}, then envelope.Of or
//     receipt.Of); a valid transport
//     envelope gets one presa in carico per transaction, to the mailReceipt
//     of the provider that signed it, then delivery; a virus in a valid
//     envelope gets a rilevazione virus per recipient and no delivery; a
//     valid notice addressed to its recipient is deposited unchanged;
//     anything else is delivered in an anomaly envelope, or refused at SMTP
//     for mailboxes that refuse ordinary mail.
//   - Delivery point (delivery.go): the deposit, unchanged, in INBOX; a
//     delivery receipt per recipient of the type requested (sintetica for Cc
//     recipients, PEC.md §6.7) or a non-delivery with its errore code.
//   - Time limits (timeouts.go, PEC.md §10.3): the sender's provider keeps
//     each sent message in its spool until every certified recipient has a
//     delivery receipt or non-delivery, and emits the 12 h warning and the
//     final notice (configurable durations).
//
// Sources: PEC.md §3 (components), §5 and §6 (catalogue), §9 (identifiers),
// §10.3 (time limits), §11 (processing rules), §14 (trace); RFC 6109; RFC 5321,
// RFC 3207 (STARTTLS), RFC 4954 (AUTH), RFC 4616 (PLAIN), RFC 6409
// (submission).
//
// # Exactly once
//
// What a step signs is recorded in the spool before it is sent or deposited,
// in one commit per step: the access point records the acceptance and the
// transport envelope together; the incoming point records its decision and
// every notice it emits for a message (presa in carico, delivery receipts,
// non-deliveries, rilevazione virus, the anomaly envelope) as one plan. A
// restart sends or deposits those recorded bytes, never signs again. The
// received bytes of an envelope or notice are deposited before the plan is
// recorded (a delivery receipt follows its deposit). Deposits into a mailbox,
// SMTP transactions and trace appends are not transactional with the spool:
// a crash between one and the record that follows it repeats it once, with
// the same bytes and the same Message-ID, which clients recognise as a
// duplicate. A genuine transport envelope received again is not delivered
// again when the trace shows its delivery.
//
// # Divergences and limits
//
// A message is held in memory while it is checked and signed (the size
// limit bounds it). Virus storage (30 months) is the Scanner's business: the
// provider keeps no quarantine of its own. No DSN is sent for ordinary mail
// that cannot be delivered. Toward ordinary mail servers STARTTLS is
// opportunistic and unverified (RFC 7435); toward PEC providers it is
// required and verified. A deposit that fails for another reason than an
// unknown mailbox (a disk error) is retried with backoff, without limit;
// meanwhile the sender's provider emits its timeout notices. No non-delivery
// with errore altro is emitted.
package provider
