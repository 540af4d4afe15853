// Package trace is a PEC provider's legal log: one Record for every event
// of every message (acceptance, non-acceptance, dispatch, taking charge,
// delivery, errors, virus findings, timeouts, anomalies), kept for 30
// months, from which a lost receipt is re-issued byte for byte.
//
// A provider logs what it emits with FromMessage (the kind, the
// certification data and the signed bytes as sent) and Store.Append; the
// events that emit nothing are built with FromData. Store.Reissue returns
// the signed bytes of a generated message by its Message-ID, unchanged, so
// that the re-issued receipt keeps its signature and its legal value.
//
// Records are chained by hash: each one carries the hash of the one before
// it, so altering, removing, inserting or reordering a record breaks the
// chain at that record. The chain alone needs no key: whoever can write
// the store can rewrite records and recompute every hash after them. So
// at intervals (Sealer, SealHead) the chain head is sealed with the
// provider's signature, a detached CMS signature made with the key that
// signs receipts, over one line of text that openssl checks as it is;
// the records up to the last seal cannot be rewritten without that key.
// The records appended since the last seal can: Verify finds them
// consistent, and says how many they are (Report.Unsealed) unless
// VerifyOptions.RequireSealed (with MaxUnsealed for the interval's worth
// of fresh records) makes them a break.
//
// Verify walks the log and reports the first Break: the record, by Seq,
// and whether it was altered, removed, inserted, reordered or duplicated,
// or a seal or the checkpoint does not hold. A seal holds when it commits
// to the hash the walk found and its signature is intact; by whom it is
// signed counts only when VerifyOptions names the provider certificates
// (Certificates, every one the provider used over the retention period)
// or roots to trust (SignatureOptions): Verify(ctx, st, nil) accepts seals
// by any signer, and so proves only that someone sealed the log. Prune
// cuts what is older than the retention period (RetentionCutoff) and puts
// a signed Checkpoint in its place, from which the rest of the chain
// still verifies; it first makes the same walk over what it cuts, with
// the same options, and refuses to sign over a break.
//
// WriteLog exports records in the de facto line format of provider logs.
//
// A Store keeps the records; implementations live in sub-packages (memstore
// in memory, the reference; filestore on local disk; pgstore in
// PostgreSQL) and pass the conformance suite of package tracetest.
//
// Sources: PEC.md §14 (required content, retention, the de facto line
// format of provider logs), §9 (identifiers), §5 (which point emits which
// kind), §6.2 (the anomaly envelope, read from its header), §12 (the
// signature), DPR 68/2005 art. 11 (30 months).
//
// Divergences: a record's Time must lie between the years 1678 and 2261,
// the range of its nanosecond encoding. Addresses are compared
// case-insensitively in the local part too, as a search of the log
// should; identifiers keep a case-sensitive local part (PEC.md §9).
package trace
