// Package daticert is the typed model of daticert.xml, the certification
// data ("dati di certificazione") that every PEC transport envelope and
// notice carries beside its human-readable text.
//
// Sources: PEC.md §8 (element reference, per-type presence, formats, real
// examples), RFC 6109 §4.4 (the DTD, "Certification Data Scheme", in its
// English rendering of the technical annex of DM 2 novembre 2005) and the
// DTD itself, daticert.dtd, beside PEC.md. Where RFC 6109 and real traffic
// disagree, real traffic wins (PEC.md §17).
//
// Parse and Unmarshal are tolerant, because providers differ. They accept:
//
//   - any indentation and white space; text is trimmed;
//   - children in any order, unknown elements and attributes (ignored), and
//     text between elements (ignored);
//   - an optional DOCTYPE, which is never used to validate or to expand
//     entities;
//   - a root postacert in any namespace;
//   - attribute values in any case ("COMPLETA"), via the pec.Parse…
//     functions;
//   - encodings UTF-8 (with or without a byte order mark), US-ASCII,
//     ISO-8859-1, ISO-8859-15 and windows-1252, as declared in the XML
//     declaration;
//   - missing optional elements, and errore and destinatari tipo left to
//     their DTD defaults, which the result states explicitly;
//   - the zone of data as "+0100" (real traffic), "+01:00" (the ABNF of
//     RFC 6109 §4.2), "Z" or "UTC", and the looser dates pec.ParseDate
//     accepts;
//   - the older placement of the recipient of a rilevazione-virus notice in
//     ricezione, read as consegna (PEC.md §17 item 21).
//
// They refuse, with a *ParseError naming the element or attribute and its
// byte offset: a root other than postacert (ErrNotDaticert), a missing
// required element or attribute (ErrMissing), a repeated element the DTD
// allows once (ErrDuplicate), a value outside its enumeration (a
// *pec.ValueError, such as tipo="mancata-consegna"), and a date that does not
// parse. Hostile input is bounded: more than MaxSize bytes gives
// pec.ErrTooLarge, nesting deeper than MaxDepth gives ErrTooDeep, and what is
// not well-formed XML gives pec.ErrMalformed. Entities declared in a DTD are
// never expanded, internal or external: a reference to one is an error. An
// encoding is switched once, by the XML declaration; a later <?xml ...?>
// naming one is an error (each switch would double the non-ASCII bytes).
//
// Marshal is strict. It runs Validate, which checks the DTD rules and the
// values (enumerations, addr-specs, identifiers, control characters, a time
// that daticert can express), and writes the DTD order with every attribute
// explicit, in the layout of the real examples of PEC.md §8.4. What Marshal
// writes, Parse reads back to the same Data, with the defaults of Error and
// Recipient.Type filled in and the time in Italian legal time.
//
// Which elements appear for which tipo (PEC.md §8.2) is a rule of the
// notices, not of the DTD: it is checked where notices are built and
// classified, not here.
package daticert
