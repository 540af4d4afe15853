// Package pec is the core model of Italian certified e-mail (Posta
// Elettronica Certificata): the message kinds of the catalogue, the literal
// header names and values, subject prefixes and body texts, identifiers,
// dates, and the errors shared by the other packages of the SDK.
//
// Normative sources: DPR 68/2005, DM 2 novembre 2005 and its technical annex,
// and RFC 6109 (their English rendering). Where RFC 6109 and real provider
// traffic disagree on a literal, the literal used by real providers is the
// one defined here (for example the attachment name daticert.xml, the
// envelope display name "Per conto di: ...", and the header X-Trasporto).
//
// Every wire literal has one home in this package. Parsing is tolerant
// (case-insensitive, trimmed); what the SDK emits uses the exact literal.
//
// Sub-packages:
//
//   - daticert: the certification data (daticert.xml)
//   - smime: S/MIME signing and verification of PEC messages
package pec
