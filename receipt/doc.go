// Package receipt builds and parses every PEC receipt and notice of the
// catalogue (PEC.md §5, §6.3–§6.11): acceptance, non-acceptance (formal and
// virus), presa in carico, the three delivery receipts (completa, breve,
// sintetica), non-delivery (plain and virus), virus detection, and the 12 h
// and 24 h timeout notices.
//
// A notice of failure carries its daticert errore code as a *pec.Error,
// which callers match with errors.As.
//
// Sources: PEC.md §6, §7, §8.2; RFC 6109 §3.1.2–§3.1.11.
//
// Tolerated on input: the legacy signature type and SHA-1 digests, LF line
// endings, header names in any case, the delivery variant told by structure
// rather than by ricevuta/@tipo (which is the type requested, PEC.md §17
// item 11), the rilevazione-virus recipient in ricezione instead of consegna
// (PEC.md §17 item 21), a receipt wrapped in another message.
package receipt
