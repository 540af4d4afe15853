package client

import "errors"

// Sentinel errors of the client, matched with errors.Is.
var (
	// ErrAlreadySent reports a Register of a Message-ID the tracker already follows.
	ErrAlreadySent = errors.New("client: message already sent (Message-ID known to the tracker)")
	// ErrUnknownMessage reports a receipt or notice about a message the tracker does not follow.
	ErrUnknownMessage = errors.New("client: receipt for a message not sent through this tracker")
	// ErrUnknownRecipient reports a receipt naming a recipient the message
	// was not sent to, or naming none where its kind must (consegna,
	// ricezione): it is not evidence for that message and is not applied.
	ErrUnknownRecipient = errors.New("client: receipt for a recipient the message was not sent to")
	// ErrMismatch reports a receipt whose signed certification data does
	// not match the sent message it was correlated with: another msgid,
	// mittente or identificativo. It is not evidence for that message and
	// is not applied.
	ErrMismatch = errors.New("client: receipt does not match the sent message")
	// ErrNotEvidence reports a receipt that cannot be taken as evidence:
	// unsigned, not intact, not signed by a PEC provider the provider index
	// lists, not verified live, signed by a provider that does not manage
	// the addresses it speaks for, or without usable certification data.
	ErrNotEvidence = errors.New("client: receipt not usable as evidence")
	// ErrLocked reports a tracker store opened by another process.
	ErrLocked = errors.New("client: tracker store locked")
	// ErrReadOnly reports a change asked of a tracker opened read-only.
	ErrReadOnly = errors.New("client: tracker store opened read-only")
	// ErrClosed reports a use of a closed tracker.
	ErrClosed = errors.New("client: tracker closed")
	// ErrCorruptStore reports a tracker store with a record that cannot be read.
	ErrCorruptStore = errors.New("client: tracker store corrupt")
	// ErrTornRecord reports a last store record cut short, as a crash during
	// an append leaves it; it is dropped and the store reopened without it.
	ErrTornRecord = errors.New("client: last tracker store record incomplete")
)

// Sentinel errors of submission and fetching, matched with errors.Is.
var (
	// ErrAuth reports a server that refused the user name and password.
	ErrAuth = errors.New("client: authentication refused")
	// ErrInsecure reports a server that cannot protect the connection (no STARTTLS or STLS).
	ErrInsecure = errors.New("client: the server offers no protected connection")
	// ErrSecurity reports an Endpoint.Security that is neither
	// SecurityTLS nor SecurityStartTLS (nor empty, which means TLS): it
	// is refused, never taken for implicit TLS.
	ErrSecurity = errors.New("client: unknown connection security")
	// ErrAddress reports a From, To or Cc address a PEC access point would refuse.
	ErrAddress = errors.New("client: address not acceptable for PEC")
	// ErrSender reports a From that is not the authenticated mailbox.
	ErrSender = errors.New("client: sender is not the authenticated mailbox")
	// ErrTooLarge reports a message over the size limit (size × recipients).
	ErrTooLarge = errors.New("client: message too large")
	// ErrInvalidDraft reports a draft that cannot be composed (subject, Message-ID, receipt type, attachment).
	ErrInvalidDraft = errors.New("client: draft not valid")
	// ErrNoTrust reports a fetch that feeds a Tracker but cannot judge the
	// receipts as evidence: no provider index (VerifyOptions.Authority;
	// trust anchors alone do not tell a PEC provider from any other holder
	// of a certificate under the same CA), or a verification that is not
	// live (VerifyOptions.CurrentTime or AsOfSigningTime set).
	ErrNoTrust = errors.New("client: no provider index to judge receipts live")
)
