package envelope

import "errors"

var (
	// ErrNotEnvelope reports a PEC message that is a receipt or notice, not an envelope.
	ErrNotEnvelope = errors.New("envelope: the PEC message is not an envelope")
	// ErrNoOriginal reports an envelope without its original message part.
	ErrNoOriginal = errors.New("envelope: no original message part")
	// ErrNoSigner reports an envelope built without a signer, or with a
	// Signer not made by smime.NewSigner.
	ErrNoSigner = errors.New("envelope: no signer")
	// ErrNoTime reports an anomaly envelope built without its arrival time.
	ErrNoTime = errors.New("envelope: anomaly without a time")
	// ErrBadData reports certification data unusable for the envelope being built.
	ErrBadData = errors.New("envelope: certification data not valid for a transport envelope")
)
