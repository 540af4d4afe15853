// Package pecmsg holds what the envelope and receipt packages share: finding
// the PEC message in an input (also inside a forwarding or archiving
// wrapper), locating its signed content, signature, certification data and
// original message, verifying the signature over the exact bytes received,
// and writing the signed MIME tree of a new PEC message.
package pecmsg
