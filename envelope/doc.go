// Package envelope builds and parses the two PEC envelopes: the transport
// envelope (busta di trasporto, X-Trasporto: posta-certificata) in which the
// sender's provider carries an accepted message, and the anomaly envelope
// (busta di anomalia, X-Trasporto: errore) in which a recipient's provider
// delivers what it cannot certify.
//
// Sources: PEC.md §6.1, §6.2, §7, §9; RFC 6109 §3.1.1, §3.2.2; RFC 1847 and
// RFC 5751 for the signature.
//
// Parsing is tolerant of what real providers send, and says so: see
// Envelope.Deviations. Among the tolerated divergences: the legacy signature
// type application/x-pkcs7-signature and SHA-1 digests, LF line endings in
// stored copies, header names in any case (X-Tiporicevuta), a PEC message
// forwarded or archived inside another message, a missing daticert.xml
// (reported as a problem, the rest still read), an anomaly envelope that
// carries certification data.
package envelope
