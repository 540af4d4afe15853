package receipt

import "errors"

var (
	// ErrNotReceipt reports a PEC message that is an envelope, not a receipt or notice.
	ErrNotReceipt = errors.New("receipt: the PEC message is not a receipt or notice")
	// ErrNoOriginal reports a receipt without the original message part.
	ErrNoOriginal = errors.New("receipt: no original message part")
	// ErrBadData reports certification data unusable for the receipt being built.
	ErrBadData = errors.New("receipt: certification data not valid for this kind")
	// ErrNeedOriginal reports a completa or breve delivery receipt built without the original.
	ErrNeedOriginal = errors.New("receipt: this kind carries the original message, none given")
	// ErrNoSigner reports a receipt built without a signer, or with a Signer
	// not made by smime.NewSigner.
	ErrNoSigner = errors.New("receipt: no signer")
	// ErrNeedTo reports a notice for a provider's service mailbox built without its address.
	ErrNeedTo = errors.New("receipt: this kind goes to the sender provider's service mailbox (mailReceipt), none given")
)
